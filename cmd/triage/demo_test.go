package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
)

// TestDemoAccountsForEveryRecord runs the demo briefly on a free port and
// checks its scorecard: every produced record enriched or dead-lettered.
func TestDemoAccountsForEveryRecord(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-duration", "3s", "-broker-port", "0",
		"-http", "127.0.0.1:0", "-rate", "400"}, &out, &out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	num := func(label string) int {
		t.Helper()
		m := regexp.MustCompile(`(?m)^  ` + label + ` +(\d+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("scorecard has no %q line:\n%s", label, out.String())
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	produced, enriched, dead := num("records produced"), num("enriched"), num("dead-lettered")
	if produced < 400 {
		t.Errorf("produced %d records in 3s at 400/s, want at least 400", produced)
	}
	if enriched+dead != produced {
		t.Errorf("enriched %d + dead-lettered %d != produced %d", enriched, dead, produced)
	}
	if dead == 0 || num("escalated") == 0 {
		t.Errorf("want some dead letters and escalations in the scorecard:\n%s", out.String())
	}
}
