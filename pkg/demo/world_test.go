package demo

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/streamtriage/triage/pkg/record"
)

var testStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// run steps a world of cfg through steps steps and returns its events by
// step and the incidents that started.
func run(t *testing.T, cfg Config, steps int) ([][]record.Event, []Incident) {
	t.Helper()
	w := New(cfg)
	var all [][]record.Event
	var started []Incident
	for range steps {
		evs, inc := w.Step(nil)
		all = append(all, evs)
		started = append(started, inc...)
	}
	return all, started
}

func TestWorldIsDeterministic(t *testing.T) {
	cfg := Config{Seed: 42, Start: testStart, RecordsPerStep: 60}
	a, ia := run(t, cfg, 250)
	b, ib := run(t, cfg, 250)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ia, ib) {
		t.Fatal("two worlds of the same seed differ")
	}
	cfg.Seed = 43
	c, _ := run(t, cfg, 250)
	if reflect.DeepEqual(a, c) {
		t.Error("worlds of seeds 42 and 43 are the same, want them to differ")
	}
}

func TestWorldStepShape(t *testing.T) {
	steps, _ := run(t, Config{Seed: 1, Start: testStart, RecordsPerStep: 100}, 3)
	for i, evs := range steps {
		if len(evs) != 100 {
			t.Fatalf("step %d has %d events, want 100", i, len(evs))
		}
		metrics, texts := 0, 0
		for _, ev := range evs {
			if !ev.Time.Equal(testStart.Add(time.Duration(i) * 30 * time.Second)) {
				t.Fatalf("step %d: event time %v, want %v", i, ev.Time,
					testStart.Add(time.Duration(i)*30*time.Second))
			}
			if len(ev.Metrics) > 0 {
				metrics++
			}
			if ev.Text != nil {
				texts++
				if !utf8.ValidString(*ev.Text) {
					t.Errorf("message %q is not valid UTF-8", *ev.Text)
				}
			}
		}
		if metrics != MetricRecordsPerStep() || texts != 100-metrics {
			t.Errorf("step %d: got %d metric events and %d messages, want %d and %d", i,
				metrics, texts, MetricRecordsPerStep(), 100-MetricRecordsPerStep())
		}
	}
}

// metricAt returns metric of entity among evs.
func metricAt(t *testing.T, evs []record.Event, entity, metric string) float64 {
	t.Helper()
	for _, ev := range evs {
		if ev.Entity == entity {
			if v, ok := ev.Metrics.Get(metric); ok {
				return v
			}
		}
	}
	t.Fatalf("no %s of %s in the step", metric, entity)
	return 0
}

func TestIncidentsMoveTheWorld(t *testing.T) {
	cfg := Config{Seed: 5, Start: testStart, RecordsPerStep: 400}
	steps, started := run(t, cfg, 60+150)
	if len(started) != 3 {
		t.Fatalf("got %d incidents in one cycle, want 3", len(started))
	}
	for i, k := range []Kind{KindGatewayOutage, KindSlowDatabase, KindFraudBurst} {
		if started[i].Kind != k {
			t.Errorf("incident %d is a %s, want a %s", i, started[i].Kind, k)
		}
	}
	ratio := func(in Incident, entity, metric string) float64 {
		mid := steps[in.StartStep+5]
		before := steps[in.StartStep-5]
		return metricAt(t, mid, entity, metric) / metricAt(t, before, entity, metric)
	}

	t.Run("the gateway outage raises errors and card declined messages", func(t *testing.T) {
		in := started[0]
		if r := ratio(in, "payment-gateway", "error_rate"); r < 5 {
			t.Errorf("error rate of payment-gateway went %.1fx, want at least 5x", r)
		}
		w := New(cfg)
		declined := map[string]bool{}
		for _, text := range w.pool[ClassCardDeclined] {
			declined[text] = true
		}
		count := func(evs []record.Event) int {
			n := 0
			for _, ev := range evs {
				if ev.Text != nil && declined[*ev.Text] {
					n++
				}
			}
			return n
		}
		during, normal := count(steps[in.StartStep+5]), count(steps[in.StartStep-5])
		if during < 3*max(normal, 1) {
			t.Errorf("card declined messages: %d during the outage, %d before, want at "+
				"least three times as many", during, normal)
		}
	})
	t.Run("the slow database slows it and its services", func(t *testing.T) {
		in := started[1]
		for _, e := range in.Entities {
			if r := ratio(in, e, "latency_ms"); r < 2.5 {
				t.Errorf("latency of %s went %.1fx, want at least 2.5x", e, r)
			}
		}
		if len(in.Entities) < 2 {
			t.Errorf("got entities %v, want the database and its services", in.Entities)
		}
	})
	t.Run("the fraud burst raises one merchant's amounts", func(t *testing.T) {
		in := started[2]
		if r := ratio(in, in.Entities[0], "amount_avg"); r < 4 {
			t.Errorf("amount_avg of %s went %.1fx, want at least 4x", in.Entities[0], r)
		}
	})
	t.Run("metrics come back after an incident", func(t *testing.T) {
		in := started[0]
		after := steps[in.EndStep+2]
		before := steps[in.StartStep-2]
		r := metricAt(t, after, "payment-gateway", "error_rate") /
			metricAt(t, before, "payment-gateway", "error_rate")
		if r > 2 || r < 0.5 {
			t.Errorf("error rate after the outage is %.2fx the one before, want about 1x", r)
		}
	})
}

func TestLastStepBoundsIncidents(t *testing.T) {
	_, started := run(t, Config{Seed: 1, Start: testStart, LastStep: 140}, 400)
	if len(started) != 1 {
		t.Fatalf("got %d incidents, want only the one that ends by step 140", len(started))
	}
	if started[0].EndStep > 140 {
		t.Errorf("incident ends at step %d, after the last step 140", started[0].EndStep)
	}
}

var (
	emailRe = regexp.MustCompile(`[a-z]+\.\d+@[a-z.]+`)
	phoneRe = regexp.MustCompile(`\+44 7\d{3} \d{6}`)
	cardRe  = regexp.MustCompile(`\d{4} \d{4} \d{4} \d{4}`)
)

// luhn reports whether the digits of s pass the Luhn check.
func luhn(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestCorpus(t *testing.T) {
	c := Corpus(9, 1200)
	if len(c) != 1200 {
		t.Fatalf("got %d examples, want 1200", len(c))
	}
	perLabel := map[string]int{}
	distinct := map[string]bool{}
	var emails, phones, cards int
	for _, ex := range c {
		perLabel[ex.Label]++
		distinct[ex.Text] = true
		if !utf8.ValidString(ex.Text) {
			t.Errorf("%q is not valid UTF-8", ex.Text)
		}
		if emailRe.MatchString(ex.Text) {
			emails++
		}
		if phoneRe.MatchString(ex.Text) {
			phones++
		}
		if m := cardRe.FindString(ex.Text); m != "" {
			cards++
			if !luhn(m) {
				t.Errorf("card number %q fails the Luhn check", m)
			}
		}
	}
	if len(perLabel) != 12 {
		t.Errorf("got %d intents, want 12", len(perLabel))
	}
	for l, n := range perLabel {
		if n != 100 {
			t.Errorf("intent %s has %d examples, want 100", l, n)
		}
	}
	if len(distinct) < 1000 {
		t.Errorf("got %d distinct texts of 1200, want at least 1000", len(distinct))
	}
	for what, n := range map[string]int{"email": emails, "phone": phones, "card": cards} {
		if n < 20 || n > 150 {
			t.Errorf("got %d messages with a %s of 1200, want between 20 and 150", n, what)
		}
	}
	if !reflect.DeepEqual(c, Corpus(9, 1200)) {
		t.Error("two corpora of the same seed differ")
	}
}
