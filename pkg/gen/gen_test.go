package gen

import (
	"reflect"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

func TestGeneratorIsReproducible(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := New(42, start, time.Second), New(42, start, time.Second)
	c := New(43, start, time.Second)
	differ := false
	for i := 0; i < 500; i++ {
		ea, sa := a.Next()
		eb, sb := b.Next()
		ec, _ := c.Next()
		if !reflect.DeepEqual(ea, eb) || sa != sb {
			t.Fatalf("event %d differs between two generators of seed 42", i)
		}
		differ = differ || !reflect.DeepEqual(ea.Metrics, ec.Metrics)
		if ea.Entity == "" || ea.Time.Before(start) {
			t.Fatalf("event %d: entity %q time %v, want an entity and a time after start",
				i, ea.Entity, ea.Time)
		}
	}
	if !differ {
		t.Error("seeds 42 and 43 gave the same metrics for 500 events")
	}
}

func TestGeneratorSpikes(t *testing.T) {
	g := New(1, time.Now(), time.Millisecond)
	g.SpikeEvery = 10
	spikes := 0
	for i := 1; i <= 100; i++ {
		ev, spike := g.Next()
		if spike {
			spikes++
			if latency(ev) < 400 {
				t.Errorf("spike %d has latency %v, want it far above normal",
					i, latency(ev))
			}
		} else if latency(ev) > 400 {
			t.Errorf("event %d is no spike but has latency %v", i, latency(ev))
		}
	}
	if spikes != 10 {
		t.Errorf("got %d spikes in 100 events with SpikeEvery 10, want 10", spikes)
	}
}

// latency returns the latency_ms metric of ev, 0 when it has none.
func latency(ev record.Event) float64 {
	v, _ := ev.Metrics.Get("latency_ms")
	return v
}
