package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// scorecardNumber returns the figure of the scorecard line label in out.
func scorecardNumber(t *testing.T, out, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +([0-9.]+)`).
		FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("scorecard has no %q line:\n%s", label, out)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("scorecard line %q: %v", label, err)
	}
	return n
}

// TestDemoAccountsForEveryRecord runs the demo for three seconds and checks
// that every produced record was enriched or dead-lettered.
func TestDemoAccountsForEveryRecord(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"demo", "-duration", "3s", "-broker-port", "0",
		"-http", "", "-rate", "400"}, &out, &out)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`produced +(\d+) \((\d+) undecodable on purpose\); enriched (\d+), ` +
		`dead-lettered (\d+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("scorecard has no produced line:\n%s", out.String())
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	produced, poisoned, enriched, dead := n[0], n[1], n[2], n[3]
	if produced < 400 {
		t.Errorf("produced %d records in 3s at 400/s, want at least 400", produced)
	}
	if enriched+dead != produced {
		t.Errorf("enriched %d + dead-lettered %d != produced %d", enriched, dead, produced)
	}
	if dead != poisoned || dead == 0 {
		t.Errorf("got %d dead letters, want the %d undecodable records, at least one", dead,
			poisoned)
	}
	if got := scorecardNumber(t, out.String(), "records"); int(got) != produced {
		t.Errorf("scorecard says %v records, want %d", got, produced)
	}
}

// TestDemoDetectsAndExplainsEveryIncident runs the demo for 30 seconds,
// long enough for one incident of each kind, and checks the scorecard
// against the ground truth; while it runs, it loads the dashboard in
// headless Chromium when there is one.
func TestDemoDetectsAndExplainsEveryIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: the demo runs for 30 seconds")
	}
	scorecard := filepath.Join(t.TempDir(), "scorecard.json")
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"demo", "-duration", "30s",
			"-broker-port", "0", "-http", "127.0.0.1:0", "-scorecard", scorecard}, &out, &out)
	}()

	url := waitDashboard(t, &out, done)
	t.Run("the dashboard shows an incident and its explanation", func(t *testing.T) {
		id := waitExplained(t, url)
		checkDashboardInBrowser(t, url, id)
	})

	if err := <-done; err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	injected := scorecardNumber(t, text, "incidents injected")
	if injected != 3 {
		t.Errorf("got %v incidents injected in 30s, want 3 (one of each kind)\n%s", injected,
			text)
	}
	for _, label := range []string{"incidents detected", "incidents explained"} {
		if got := scorecardNumber(t, text, label); got != injected {
			t.Errorf("got %v %s, want all %v injected\n%s", got, label, injected, text)
		}
	}
	if rate := scorecardNumber(t, text, "escalation rate"); rate > 2 {
		t.Errorf("got an escalation rate of %v%%, want at most 2%%", rate)
	}

	b, err := os.ReadFile(scorecard)
	if err != nil {
		t.Fatalf("unable to read the scorecard file: %v", err)
	}
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("the scorecard file is not a JSON object of numbers: %v\n%s", err, b)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"escalated", "escalation_rate", "false_alarms", "incidents_detected",
		"incidents_explained", "incidents_injected", "llm_calls", "llm_tokens", "records",
		"records_per_sec"}
	if !slices.Equal(keys, want) {
		t.Errorf("got scorecard keys %v, want %v", keys, want)
	}
	if m["records"] != scorecardNumber(t, text, "records") ||
		m["incidents_detected"] != injected {
		t.Errorf("the scorecard file %v disagrees with the printed scorecard:\n%s", m, text)
	}
}

// waitDashboard returns the dashboard's URL once the demo has printed it.
func waitDashboard(t *testing.T, out *syncBuffer, done chan error) string {
	t.Helper()
	re := regexp.MustCompile(`dashboard on (http://\S+/)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("demo ended before serving the dashboard: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no dashboard address within 20s:\n%s", out.String())
	return ""
}

// waitExplained polls the dashboard's state until an injected incident is
// explained and returns its id.
func waitExplained(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		var s struct {
			Incidents []struct {
				ID        string `json:"id"`
				Explained bool   `json:"explained"`
			} `json:"incidents"`
		}
		res, err := http.Get(url + "api/state")
		if err == nil {
			err = json.NewDecoder(res.Body).Decode(&s)
			res.Body.Close()
		}
		if err != nil {
			t.Fatalf("unable to read the dashboard state: %v", err)
		}
		for _, in := range s.Incidents {
			if in.Explained {
				return in.ID
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no incident explained on the dashboard within 25s")
	return ""
}
