package classify

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamtriage/triage/pkg/record"
)

func TestTaggerOutcomes(t *testing.T) {
	train := easyTask.generate(800, 1, 1)
	m := trainSmall(t, train, smallConfig())
	known := train[0]
	long := strings.Repeat(known.Text+" ", 20)
	str := func(s string) *string { return &s }

	for _, tt := range []struct {
		name      string
		text      *string
		threshold float64
		label     string   // "" for no classification
		reasons   []string // the flags
		outcome   string   // the counter that moves
		truncated float64
	}{
		{"no text", nil, 0.5, "", nil, "no_text", 0},
		{"white space", str(" \t\n "), 0.5, "", nil, "no_text", 0},
		{"no word", str("?! -- ..."), 0.5, "", nil, "no_text", 0},
		{"a confident label", str(known.Text), 0.5, known.Label, nil, "labelled", 0},
		{"a label below the threshold", str(known.Text), 1.01, known.Label,
			[]string{ReasonLowConfidence}, "low_confidence", 0},
		{"words never seen", str("qqqzz xxwvq zzyqx"), 0.5, "?", []string{ReasonOutOfScope},
			"out_of_scope", 0},
		{"a text over the limit", str(long), 0.5, known.Label, nil, "labelled", 1},
		{"invalid UTF-8", str(known.Text + " \xff\xfe"), 0.5, known.Label, nil, "labelled", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tg, err := NewTagger(NewHolder(m), TaggerConfig{MaxTextBytes: 200,
				Threshold: tt.threshold}, reg)
			if err != nil {
				t.Fatal(err)
			}
			e := &record.Enriched{Event: record.Event{Entity: "e", Text: tt.text}}
			if err := tg.Tag(context.Background(), e); err != nil {
				t.Fatalf("Tag: %v", err)
			}
			switch {
			case tt.label == "" && e.Classification != nil:
				t.Errorf("got classification %+v, want none", e.Classification)
			case tt.label != "" && e.Classification == nil:
				t.Errorf("got no classification, want one")
			case tt.label != "" && tt.label != "?" && e.Classification.Label != tt.label:
				t.Errorf("got label %q, want %q", e.Classification.Label, tt.label)
			case e.Classification != nil && e.Classification.ModelVersion != m.Version():
				t.Errorf("got model version %q, want %q", e.Classification.ModelVersion,
					m.Version())
			}
			if strings.Join(e.Reasons, ",") != strings.Join(tt.reasons, ",") ||
				e.Escalate != (len(tt.reasons) > 0) {
				t.Errorf("got reasons %q escalate %v, want %q", e.Reasons, e.Escalate, tt.reasons)
			}
			if got := testutil.ToFloat64(tg.outcomes.WithLabelValues(tt.outcome)); got != 1 {
				t.Errorf("got %v records counted %s, want 1", got, tt.outcome)
			}
			if got := testutil.ToFloat64(tg.truncated); got != tt.truncated {
				t.Errorf("got %v truncated, want %v", got, tt.truncated)
			}
		})
	}
}

func TestTaggerFollowsTheHolder(t *testing.T) {
	a, b := twoModels(t)
	h := NewHolder(a)
	tg, err := NewTagger(h, TaggerConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "some words"
	for _, want := range []*Model{a, b} {
		h.Swap(want)
		e := &record.Enriched{Event: record.Event{Text: &text}}
		_ = tg.Tag(context.Background(), e)
		if e.Classification == nil || e.Classification.ModelVersion != want.Version() {
			t.Errorf("got %+v, want a classification by version %s", e.Classification,
				want.Version())
		}
	}
}

func TestNewTaggerRefusesBadArguments(t *testing.T) {
	if _, err := NewTagger(nil, TaggerConfig{}, nil); err == nil {
		t.Error("no holder: got no error")
	}
	m, _ := twoModels(t)
	if _, err := NewTagger(NewHolder(m), TaggerConfig{MaxTextBytes: -1}, nil); err == nil {
		t.Error("max text bytes -1: got no error")
	}
	reg := prometheus.NewRegistry()
	if _, err := NewTagger(NewHolder(m), TaggerConfig{}, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewTagger(NewHolder(m), TaggerConfig{}, reg); err == nil {
		t.Error("a second tagger on the same registry: got no error")
	}
}

func TestCutAtRune(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is two bytes
		{"héllo", 3, "hé"},
		{"ab", 5, "ab"},
	} {
		if got := cutAtRune(tt.s, tt.n); got != tt.want {
			t.Errorf("cutAtRune(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
