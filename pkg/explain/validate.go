package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Answer is what the model must reply: one JSON object with these fields.
type Answer struct {
	Summary          string   `json:"summary"`
	ProbableCause    string   `json:"probable_cause"`
	Category         string   `json:"category"`
	Evidence         []string `json:"evidence"`
	SuggestedActions []string `json:"suggested_actions"`
	Confidence       float64  `json:"confidence"`
}

// Limits of an Answer, in characters (runes) and items.
const (
	maxSummary    = 1000
	maxCause      = 500
	maxItem       = 300
	minEvidence   = 1
	maxEvidence   = 10
	maxActions    = 8
	answerSchemaN = "incident_explanation"
)

// Categories are the values Answer.Category may take.
var Categories = []string{
	"deployment", "capacity", "dependency", "traffic", "data_quality", "configuration",
	"security", "unknown",
}

// answerFields are the fields of Answer, all required.
var answerFields = []string{
	"summary", "probable_cause", "category", "evidence", "suggested_actions", "confidence",
}

// answerSchema returns the JSON schema sent with structured output. It
// holds only what strict structured output accepts everywhere (types,
// enums, required fields, no extra properties); lengths and ranges are
// checked by ParseAnswer.
func answerSchema() map[string]any {
	str := map[string]any{"type": "string"}
	strs := map[string]any{"type": "array", "items": str}
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"summary":           str,
			"probable_cause":    str,
			"category":          map[string]any{"type": "string", "enum": Categories},
			"evidence":          strs,
			"suggested_actions": strs,
			"confidence":        map[string]any{"type": "number"},
		},
		"required":             answerFields,
		"additionalProperties": false,
	}
}

// answerInstructions describes the answer for the system message, for
// servers that take no schema.
func answerInstructions() string {
	return fmt.Sprintf(`Answer with one JSON object and nothing else, with exactly these fields:
- "summary": string, what happened, in a few sentences (at most %d characters)
- "probable_cause": string, the most likely cause (at most %d characters)
- "category": one of %s
- "evidence": array of %d to %d strings, facts from the incident that support the cause
  (each at most %d characters)
- "suggested_actions": array of at most %d strings, what to check or do next, most
  useful first (each at most %d characters)
- "confidence": number from 0 to 1, how likely the cause is right`,
		maxSummary, maxCause, quotedList(Categories), minEvidence, maxEvidence, maxItem,
		maxActions, maxItem)
}

func quotedList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = `"` + x + `"`
	}
	return strings.Join(q, ", ")
}

// ParseAnswer reads the model's reply. It takes the JSON object from a
// reply wrapped in a code fence or in prose, then checks every field: all
// present, strings not blank and within their lengths, the category one of
// Categories, the confidence in [0,1]. A failure wraps ErrInvalidAnswer
// and says what to fix, so that it can be sent back for a repair.
func ParseAnswer(reply string) (Answer, error) {
	raw := extractObject(reply)
	if raw == nil {
		return Answer{}, fmt.Errorf("%w: the reply holds no JSON object", ErrInvalidAnswer)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Answer{}, fmt.Errorf("%w: the reply is not valid JSON: %v", ErrInvalidAnswer, err)
	}
	var errs []error
	for _, f := range answerFields {
		if v, ok := fields[f]; !ok || string(v) == "null" {
			errs = append(errs, fmt.Errorf("field %q is missing", f))
		}
	}
	if len(errs) > 0 {
		return Answer{}, fmt.Errorf("%w: %w", ErrInvalidAnswer, errors.Join(errs...))
	}
	var a Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return Answer{}, fmt.Errorf("%w: a field has the wrong type: %v", ErrInvalidAnswer, err)
	}
	if err := a.validate(); err != nil {
		return Answer{}, fmt.Errorf("%w: %w", ErrInvalidAnswer, err)
	}
	return a, nil
}

func (a *Answer) validate() error {
	var errs []error
	text := func(name, s string, max int) {
		switch n := utf8.RuneCountInString(s); {
		case strings.TrimSpace(s) == "":
			errs = append(errs, fmt.Errorf("field %q is empty", name))
		case n > max:
			errs = append(errs, fmt.Errorf("field %q has %d characters, over %d", name, n, max))
		}
	}
	list := func(name string, xs []string, min, max int) {
		if len(xs) < min || len(xs) > max {
			errs = append(errs, fmt.Errorf("field %q has %d items, want %d to %d",
				name, len(xs), min, max))
		}
		for i, x := range xs {
			text(fmt.Sprintf("%s[%d]", name, i), x, maxItem)
		}
	}
	text("summary", a.Summary, maxSummary)
	text("probable_cause", a.ProbableCause, maxCause)
	if !slices.Contains(Categories, a.Category) {
		errs = append(errs, fmt.Errorf("field \"category\" is %q, not one of %s",
			a.Category, quotedList(Categories)))
	}
	list("evidence", a.Evidence, minEvidence, maxEvidence)
	list("suggested_actions", a.SuggestedActions, 0, maxActions)
	if math.IsNaN(a.Confidence) || a.Confidence < 0 || a.Confidence > 1 {
		errs = append(errs, fmt.Errorf("field \"confidence\" is %g, not in [0,1]", a.Confidence))
	}
	return errors.Join(errs...)
}

// extractObject returns the outermost JSON object of s: s itself when it
// is one, else the text from the first '{' to the last '}', which strips
// code fences and prose around it. It returns nil when there is none.
func extractObject(s string) []byte {
	b := bytes.TrimSpace([]byte(s))
	if len(b) > 0 && b[0] == '{' && json.Valid(b) {
		return b
	}
	i, j := bytes.IndexByte(b, '{'), bytes.LastIndexByte(b, '}')
	if i < 0 || j < i {
		return nil
	}
	return b[i : j+1]
}
