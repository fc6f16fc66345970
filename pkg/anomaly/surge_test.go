package anomaly

import (
	"context"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

func classified(p int32, label string, at time.Time) *record.Enriched {
	return &record.Enriched{
		Event:          record.Event{Entity: "customer", Time: at},
		Classification: &record.Classification{Label: label, Confidence: 0.9},
		Provenance:     record.Provenance{Topic: "messages", Partition: p},
	}
}

// feed tags n records of label spread over the minute starting at bucket
// minute, and returns how many were flagged.
func feed(t *testing.T, s *Surge, p int32, label string, minute, n int) int {
	t.Helper()
	flagged := 0
	for i := range n {
		at := t0.Add(time.Duration(minute)*time.Minute +
			time.Duration(i)*time.Minute/time.Duration(n))
		e := classified(p, label, at)
		if err := s.Tag(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		if e.Escalate {
			if e.Reasons[0] != "surge: "+label || e.Anomaly == nil || !e.Anomaly.Flagged {
				t.Fatalf("got reasons %q and anomaly %+v, want a surge of %s", e.Reasons,
					e.Anomaly, label)
			}
			flagged++
		}
	}
	return flagged
}

func TestSurgeFlagsTheRecordsOfASurgingClass(t *testing.T) {
	s, err := NewSurge(SurgeConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for m := range 30 {
		if n := feed(t, s, 0, "card_declined", m, 20) + feed(t, s, 0, "balance", m, 50); n != 0 {
			t.Fatalf("minute %d: got %d records flagged at the usual rates, want 0", m, n)
		}
	}
	// Expected 20 a minute: the limit is 20 + 4*sqrt(20) + 5, about 42.9,
	// so of 100 records the 58 from the 43rd on are flagged.
	if n := feed(t, s, 0, "card_declined", 30, 100); n != 58 {
		t.Errorf("got %d records of the surge flagged, want 58", n)
	}
	if n := feed(t, s, 0, "balance", 30, 50); n != 0 {
		t.Errorf("got %d records of a steady class flagged, want 0", n)
	}
	if n := feed(t, s, 0, "card_declined", 31, 20); n != 0 {
		t.Errorf("got %d records flagged after the surge, want 0", n)
	}
	if n := feed(t, s, 0, "card_declined", 5, 100); n != 0 {
		t.Errorf("got %d late records flagged, want 0", n)
	}
}

func TestSurgeWaitsForItsWarmup(t *testing.T) {
	s, _ := NewSurge(SurgeConfig{Warmup: 10}, nil)
	for m := range 9 {
		feed(t, s, 0, "card_declined", m, 5)
	}
	if n := feed(t, s, 0, "card_declined", 9, 200); n != 0 {
		t.Errorf("got %d flagged before 10 buckets were learned, want 0", n)
	}
}

func TestSurgeStateRoundTrips(t *testing.T) {
	a, _ := NewSurge(SurgeConfig{}, nil)
	for m := range 20 {
		feed(t, a, 2, "card_declined", m, 10)
	}
	var keys []string
	var vals [][]byte
	a.Checkpoint(func(_ string, p int32, k string, v []byte) {
		if p != 2 {
			t.Errorf("got an entry for partition %d, want 2", p)
		}
		keys, vals = append(keys, k), append(vals, v)
	})
	b, _ := NewSurge(SurgeConfig{}, nil)
	err := b.Restore("messages", 2, func(yield func(string, []byte) bool) {
		for i := range keys {
			if !yield(keys[i], vals[i]) {
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	na, nb := feed(t, a, 2, "card_declined", 20, 80), feed(t, b, 2, "card_declined", 20, 80)
	if na == 0 || na != nb {
		t.Errorf("got %d flagged after the restore, want %d (and more than 0)", nb, na)
	}
	if err := b.Restore("messages", 2, func(yield func(string, []byte) bool) {
		yield("card_declined", []byte{1, 2, 3})
	}); err == nil {
		t.Error("got a truncated snapshot restored, want an error")
	}
}
