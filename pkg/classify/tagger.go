package classify

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtriage/triage/pkg/record"
)

// Reasons the tagger gives when it flags a record.
const (
	ReasonLowConfidence = "low confidence"
	ReasonOutOfScope    = "out of scope"
)

// DefaultMaxTextBytes is the longest text the tagger classifies whole;
// longer texts are cut to it.
const DefaultMaxTextBytes = 4096

// TaggerConfig configures a Tagger.
type TaggerConfig struct {
	// MaxTextBytes is the length past which a text is cut before it is
	// classified, at a rune boundary. Default DefaultMaxTextBytes.
	MaxTextBytes int
	// Threshold, when positive, replaces the confidence threshold stored in
	// the model.
	Threshold float64
}

// Tagger classifies the text of each record with the model of a Holder,
// which it reads afresh for every record, so that a reload takes effect
// from the next record on.
type Tagger struct {
	holder *Holder
	cfg    TaggerConfig

	outcomes  *prometheus.CounterVec
	truncated prometheus.Counter
	// The children of outcomes, resolved once.
	labelled, lowConfidence, outOfScope, noText prometheus.Counter
}

// NewTagger returns a tagger that classifies with the model of h and
// registers its metrics with reg, which may be nil.
func NewTagger(h *Holder, cfg TaggerConfig, reg prometheus.Registerer) (*Tagger, error) {
	if h == nil || h.Model() == nil {
		return nil, fmt.Errorf("classify: the tagger needs a model")
	}
	if cfg.MaxTextBytes == 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.MaxTextBytes < 1 {
		return nil, fmt.Errorf("%w: max text bytes %d: want at least 1", ErrConfig,
			cfg.MaxTextBytes)
	}
	t := &Tagger{
		holder: h,
		cfg:    cfg,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_classifier_records_total",
			Help: "Records seen by the text classifier, by outcome: labelled, low_confidence, " +
				"out_of_scope, no_text (no text or no word in it).",
		}, []string{"outcome"}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_classifier_truncated_total",
			Help: "Texts cut to the length limit before classification.",
		}),
	}
	t.labelled = t.outcomes.WithLabelValues("labelled")
	t.lowConfidence = t.outcomes.WithLabelValues("low_confidence")
	t.outOfScope = t.outcomes.WithLabelValues("out_of_scope")
	t.noText = t.outcomes.WithLabelValues("no_text")
	if reg != nil {
		for _, c := range []prometheus.Collector{t.outcomes, t.truncated} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("classify: %w", err)
			}
		}
	}
	return t, nil
}

// Name returns "classifier".
func (*Tagger) Name() string { return "classifier" }

// Tag classifies e.Event.Text. A record without text, or whose text has no
// word, gets no classification and no flag, and is counted as no_text. Any
// other record gets a Classification with the model's version; one below
// the confidence threshold is flagged "low confidence", and one made mostly
// of words never seen in training "out of scope". Tag never fails.
func (t *Tagger) Tag(_ context.Context, e *record.Enriched) error {
	if e.Event.Text == nil || strings.TrimSpace(*e.Event.Text) == "" {
		t.noText.Inc()
		return nil
	}
	text := *e.Event.Text
	if len(text) > t.cfg.MaxTextBytes {
		text = cutAtRune(text, t.cfg.MaxTextBytes)
		t.truncated.Inc()
	}
	m := t.holder.Model()
	p := m.Predict(text)
	if p.NoText {
		t.noText.Inc()
		return nil
	}
	e.Classification = &record.Classification{
		Label:        p.Label,
		Confidence:   p.Confidence,
		ModelVersion: m.Version(),
	}
	threshold := m.Threshold()
	if t.cfg.Threshold > 0 {
		threshold = t.cfg.Threshold
	}
	switch {
	case p.OutOfScope:
		e.Flag(ReasonOutOfScope)
		t.outOfScope.Inc()
	case p.Confidence < threshold:
		e.Flag(ReasonLowConfidence)
		t.lowConfidence.Inc()
	default:
		t.labelled.Inc()
	}
	return nil
}

// cutAtRune returns the longest prefix of s of at most n bytes that does
// not end inside a rune.
func cutAtRune(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
