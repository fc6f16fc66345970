package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/detect"
)

// writeShiftSeries writes n rows of noisy values, 5 minutes apart, that
// shift up by 10 sd from row shift on, and returns their times and values.
func writeShiftSeries(t *testing.T, path string, n, shift int, seed uint64) ([]time.Time,
	[]float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	times := make([]time.Time, n)
	values := make([]float64, n)
	for i := range n {
		times[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
		values[i] = 50 + 2*rng.NormFloat64()
		if i >= shift {
			values[i] += 20
		}
		fmt.Fprintf(&b, "%s,%g\n", times[i].Format("2006-01-02 15:04:05"), values[i])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return times, values
}

func TestDetectCommand(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
	times, values := writeShiftSeries(t, in, 1000, 800, 1)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"detect", "--in", in, "--out", out},
		&stdout, &stderr)
	if err != nil {
		t.Fatalf("got %v (%s), want nil", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "timestamp,value,anomaly_score" {
		t.Errorf("got header %q, want timestamp,value,anomaly_score", got)
	}
	if len(rows) != 1001 {
		t.Fatalf("got %d rows, want 1001", len(rows))
	}

	// The scores are exactly those of the worker's detector, in order.
	d := detect.New(detect.DefaultConfig())
	maxAfter := 0.0
	for i, row := range rows[1:] {
		want := d.Update(times[i], values[i]).Score
		got, err := strconv.ParseFloat(row[2], 64)
		if err != nil || got != want {
			t.Fatalf("row %d: got score %q, want %v", i, row[2], want)
		}
		if v, _ := strconv.ParseFloat(row[1], 64); v != values[i] {
			t.Fatalf("row %d: got value %q, want %v", i, row[1], values[i])
		}
		if i >= 800 {
			maxAfter = math.Max(maxAfter, got)
		}
	}
	if maxAfter < detect.DefaultConfig().Threshold {
		t.Errorf("got a highest score of %v after the shift, want at least the threshold",
			maxAfter)
	}
}

func TestDetectCommandAcceptsRFC3339(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.csv")
	data := "timestamp,value\n2024-05-01T00:00:00Z,1\n2024-05-01T00:05:00+02:00,2\n"
	if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"detect", "--in", in}, &stdout,
		&stderr); err != nil {
		t.Fatalf("got %v (%s), want nil", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines on stdout, want 3:\n%s", len(lines), stdout.String())
	}
	if !strings.HasPrefix(lines[2], "2024-04-30 22:05:00,2,") {
		t.Errorf("got row %q, want it to start with the time in UTC and the value", lines[2])
	}
}

func TestAnomalyCommandsRejectBadFlags(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"detect without an input", []string{"detect"}},
		{"detect with a threshold above one", []string{"detect", "--in", "x.csv",
			"--threshold", "2"}},
		{"eval anomaly without windows", []string{"eval", "anomaly", "--data", "d",
			"--profiles", "p"}},
		{"eval anomaly with a short window of zero", []string{"eval", "anomaly", "--data",
			"d", "--windows", "w", "--profiles", "p", "--short", "0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.args, &out, &out); !errors.Is(err, errUsage) {
				t.Errorf("got %v, want errUsage", err)
			}
		})
	}
}

func TestEvalAnomalyCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ta, _ := writeShiftSeries(t, filepath.Join(data, "cat", "a.csv"), 2000, 1500, 2)
	tb, _ := writeShiftSeries(t, filepath.Join(data, "cat", "b.csv"), 2000, 1200, 3)
	win := func(ts []time.Time, l, r int) string {
		return fmt.Sprintf(`["%s", "%s"]`, ts[l].Format("2006-01-02 15:04:05.000000"),
			ts[r].Format("2006-01-02 15:04:05.000000"))
	}
	windows := filepath.Join(dir, "windows.json")
	profiles := filepath.Join(dir, "profiles.json")
	writeFile(t, windows, fmt.Sprintf(`{"cat/a.csv": [%s], "cat/b.csv": [%s]}`,
		win(ta, 1400, 1600), win(tb, 1100, 1300)))
	writeFile(t, profiles, `{
 "standard": {"CostMatrix": {"tpWeight": 1, "fnWeight": 1, "fpWeight": 0.11, "tnWeight": 1}},
 "reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1, "fnWeight": 1, "fpWeight": 0.22,
   "tnWeight": 1}},
 "reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1, "fnWeight": 2, "fpWeight": 0.11,
   "tnWeight": 1}}}`)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"eval", "anomaly", "--data", data,
		"--windows", windows, "--profiles", profiles, "--details"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("got %v (%s), want nil", err, stderr.String())
	}
	out := stdout.String()
	for _, p := range []string{"standard", "reward_low_FP_rate", "reward_low_FN_rate"} {
		i := strings.Index(out, p+": ")
		if i < 0 {
			t.Errorf("got no line for %s in:\n%s", p, out)
			continue
		}
		line := strings.SplitN(out[i+len(p)+2:], "\n", 2)[0]
		score, err := strconv.ParseFloat(line, 64)
		// Both shifts are 10 sd and start in their windows' middle: any
		// detector worth its name beats the null one by far.
		if err != nil || score < 50 || score > 100 {
			t.Errorf("got %s score %q, want a number in [50, 100]", p, line)
		}
	}
	for _, f := range []string{"cat/a.csv", "cat/b.csv"} {
		if !strings.Contains(out, f) {
			t.Errorf("got no details for %s in:\n%s", f, out)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
