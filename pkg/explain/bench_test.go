package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// BenchmarkRedact redacts a 1 KiB record text holding an email address, a
// card number and a phone number among ordinary words and numbers.
func BenchmarkRedact(b *testing.B) {
	r, _ := NewRedactor(RedactConfig{})
	line := "order 12345 at 2024-03-04 10:00:00 took 1500 ms for jane@example.com, " +
		"card 4111 1111 1111 1111, call +44 20 7946 0958; retry 3 of 5. "
	text := strings.Repeat(line, 1024/len(line)+1)[:1024]
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		var p Placeholders
		r.Redact(text, &p)
	}
}

// BenchmarkBuildPrompt builds the prompt of a 200-escalation incident of
// 7 entities within the default 3000 tokens.
func BenchmarkBuildPrompt(b *testing.B) {
	cfg := testConfig("")
	inc := bigIncident(b, cfg, 200)
	r, _ := NewRedactor(RedactConfig{})
	b.ReportAllocs()
	for b.Loop() {
		ph := inc.Placeholders.clone()
		buildPrompt(inc, cfg.Prompt, func(s string) string { x, _ := r.Redact(s, &ph); return x })
	}
}

// BenchmarkStoreAdd adds escalations of 50 entities, 20 to an incident, to
// a store, as the loop does for every escalation record. The 1000
// escalations repeat with the same event times, so past the first 1000
// they join the incidents already open.
func BenchmarkStoreAdd(b *testing.B) {
	cfg := DefaultConfig()
	red, _ := NewRedactor(cfg.Redact)
	escs := make([]*record.Escalation, 1000)
	for i := range escs {
		escs[i] = escalation(escOpts{entity: string(rune('A'+i%50)) + "-svc",
			at: t0.Add(time.Duration(i/20) * time.Hour), metric: "latency_ms",
			text: "customer says checkout is slow"})
	}
	var f feeder
	s := NewStore(cfg.Incidents, red)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := escs[i%len(escs)]
		s.Add(f.ref(0, e), e, now)
		i++
	}
}
