package dashboard

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestPageHasNoExternalAssets(t *testing.T) {
	res, body := get(t, New("t", nil).Handler(), "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", res.StatusCode)
	}
	if !strings.Contains(body, "<svg id=\"tp\"") || !strings.Contains(body, "api/state") {
		t.Fatalf("the page is not the dashboard:\n%.300s", body)
	}
	// The only absolute URL allowed is the SVG namespace, which is a name,
	// never fetched.
	for _, m := range regexp.MustCompile(`(?i)(src|href)\s*=|@import|url\(|https?://[^"]*`).
		FindAllString(body, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("the page refers to %q, want no external asset", m)
		}
	}
}

func TestSnapshot(t *testing.T) {
	start := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	d := New("demo", func() []Incident {
		return []Incident{{ID: "fraud-burst-1", Title: "fraud", Detected: true}}
	})
	d.Counters(Counters{Records: 1000}, start)
	d.Counters(Counters{Records: 3000, Escalated: 4}, start.Add(time.Second))
	d.Counters(Counters{Records: 7000, Escalated: 5}, start.Add(3*time.Second))
	d.Class("card_declined", 25)
	d.Class("card_declined", 25)
	for i := range maxPoints + 10 {
		d.Enriched(&record.Enriched{
			Event: record.Event{Entity: "m-petpals",
				Time: start.Add(time.Duration(i) * time.Minute)},
			Anomaly: &record.Anomaly{Flagged: i == 5, Metrics: []record.MetricAnomaly{{
				Metric: "amount_avg", Value: float64(i), Lower: 1, Upper: 2,
				Direction: record.DirectionUp, Contribution: 0.9,
			}, {
				Metric: "amount_avg", Value: float64(i), Lower: -math.MaxFloat64, Upper: 2,
				Direction: record.DirectionUp, Contribution: 1,
			}}},
		})
	}
	d.Explanation(record.Explanation{IncidentID: "inc-1", Summary: "first"}, nil, start)
	d.Explanation(record.Explanation{IncidentID: "inc-2", Summary: "second"},
		[]string{"fraud-burst-1"}, start)

	_, body := get(t, d.Handler(), "/api/state")
	var s Snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("unable to decode the snapshot: %v\n%s", err, body)
	}
	if len(s.Throughput) != 2 || s.Throughput[0].PerSecond != 2000 ||
		s.Throughput[1].PerSecond != 2000 {
		t.Errorf("got throughput %+v, want 2000/s twice (over 1s, then 3s)", s.Throughput)
	}
	if s.Counters.Escalated != 5 || s.Counters.Records != 7000 {
		t.Errorf("got counters %+v, want the last ones", s.Counters)
	}
	if s.Classes["card_declined"] != 50 {
		t.Errorf("got class mix %v, want card_declined 50", s.Classes)
	}
	if len(s.Series) != 1 || len(s.Series[0].Points) != maxPoints ||
		s.Series[0].Points[0].Value != 10 || s.Series[0].MaxScore != 0.9 {
		t.Errorf("got series %+v, want one of the last %d points with max score 0.9, "+
			"without the rule's open band",
			s.Series, maxPoints)
	}
	if len(s.Incidents) != 1 || s.Incidents[0].ID != "fraud-burst-1" {
		t.Errorf("got incidents %+v, want fraud-burst-1", s.Incidents)
	}
	if len(s.Explanations) != 2 || s.Explanations[0].Summary != "second" ||
		s.Explanations[0].Incidents[0] != "fraud-burst-1" {
		t.Errorf("got explanations %+v, want the newest first with its incident",
			s.Explanations)
	}
}
