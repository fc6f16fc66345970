package explain

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// secrets are the personal data put into the test's records, each as
// written and as its bare digits for numbers.
var secrets = []string{
	"jane.doe@example.com", "j.smith+billing@corp.example.org",
	"4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117",
	"+44 20 7946 0958", "(555) 123-4567", "+1-202-555-0143", "0049 30 1234567",
	"07700 900123", "+4915112345678", "555.867.5309",
	"DE89 3704 0044 0532 0130 00", "192.168.1.23", "2001:db8::1",
}

// bareDigits returns the digits of s.
func bareDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stringsOf returns every string in a decoded JSON value.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, stringsOf(x)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, x := range v {
			out = append(out, k)
			out = append(out, stringsOf(x)...)
		}
		return out
	}
	return nil
}

func TestNoPersonalDataReachesTheModel(t *testing.T) {
	// The first answer of each incident is garbage, so that the repair
	// request, which carries the earlier messages, is checked too.
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, body map[string]any) {
		if len(body["messages"].([]any)) == 2 {
			writeCompletion(w, "not json")
			return
		}
		writeCompletion(w, validAnswer())
	})
	cfg := testConfig(srv.URL())
	cfg.Prompt.MaxTokens = 20000
	e := newExplainer(t, cfg)
	svc := NewService(cfg, e)
	t.Cleanup(svc.Close)

	// Secrets in texts, attributes, ids, entities and recent events.
	var f feeder
	now := time.Now()
	for i, s := range secrets {
		esc := escalation(escOpts{entity: "checkout", at: t0.Add(time.Duration(i) * time.Second),
			metric: "latency_ms", text: "customer says: contact " + s + " asap"})
		esc.Enriched.Event.Attributes = append(esc.Enriched.Event.Attributes,
			record.Attribute{Key: "contact", Value: s})
		esc.Recent[0].Text = &s
		esc.Recent[0].ID = "prev " + s
		svc.Add(f.ref(0, esc), esc, now)
	}
	byEmail := escalation(escOpts{entity: "jane.doe@example.com", at: t0, label: "complaint",
		text: "call me on +44 20 7946 0958"})
	byEmail.Enriched.Reasons = []string{"reported by j.smith+billing@corp.example.org"}
	svc.Add(f.ref(1, byEmail), byEmail, now)

	var xs []record.Explanation
	deadline := time.Now().Add(20 * time.Second)
	for len(xs) < 2 && time.Now().Before(deadline) {
		svc.Tick(t.Context(), time.Now(), func(x record.Explanation) error {
			xs = append(xs, x)
			return nil
		})
		time.Sleep(10 * time.Millisecond)
	}
	if len(xs) != 2 || srv.requests() != 4 {
		t.Fatalf("got %d explanations from %d requests, want 2 from 4", len(xs),
			srv.requests())
	}

	for i := range srv.requests() {
		raw := srv.body(i)
		var body any
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatal(err)
		}
		texts := stringsOf(body)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("request %d holds %q", i, s)
			}
			digits := bareDigits(s)
			for _, text := range texts {
				if strings.Contains(text, s) {
					t.Errorf("request %d holds %q in %q", i, s, text)
				}
				if len(digits) >= 7 && containsDigitRun(text, digits) {
					t.Errorf("request %d holds the digits of %q", i, s)
				}
			}
		}
	}

	t.Run("the placeholders are typed and the entities kept", func(t *testing.T) {
		all := string(srv.body(0)) + string(srv.body(1)) + string(srv.body(2)) +
			string(srv.body(3))
		for _, ph := range []string{"EMAIL_1", "CARD_1", "PHONE_1", "IBAN_1", "IP_1"} {
			if !strings.Contains(all, ph) {
				t.Errorf("no %s placeholder in the requests", ph)
			}
		}
		for _, x := range xs {
			if x.Entities[0] != "checkout" && x.Entities[0] != "jane.doe@example.com" {
				t.Errorf("got entities %v, want the real ones in the explanation", x.Entities)
			}
		}
	})
}

// containsDigitRun reports whether text holds digits as one number written
// with separators: the digits in order with at most two characters among
// " -.()+" between each.
func containsDigitRun(text, digits string) bool {
	for start := 0; start < len(text); start++ {
		i, j := start, 0
		for i < len(text) && j < len(digits) {
			if text[i] == digits[j] {
				i++
				j++
				continue
			}
			if j == 0 || strings.IndexByte(" -.()+", text[i]) < 0 {
				break
			}
			i++
		}
		if j == len(digits) {
			return true
		}
	}
	return false
}
