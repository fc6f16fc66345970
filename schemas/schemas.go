// Package schemas holds triage's own Avro schemas (namespace triage) and
// their parsed goavro codecs. Each .avsc file is self-contained: a record
// used inside another is defined inline where it is first used, so every
// file parses on its own and fingerprints on its own. This package owns the
// schema text only; the Go values live in package record and the formats on
// the wire in package codec.
//
// A schema may only change in ways old readers and writers can follow:
// add fields with defaults, never rename or retype one. The fingerprints
// are pinned by the tests so that a change is always a deliberate one.
package schemas

import (
	"embed"
	"errors"
	"fmt"

	"github.com/linkedin/goavro/v2"
)

// Full names of the built-in schemas.
const (
	EventName         = "triage.Event"
	EnrichedEventName = "triage.EnrichedEvent"
	EscalationName    = "triage.Escalation"
	ExplanationName   = "triage.Explanation"
)

// ErrUnknown is returned by Codec and Source when no built-in schema has the
// asked name.
var ErrUnknown = errors.New("no built-in schema has this name")

// The parsed built-in schemas. They are set before any other package's init
// runs and never change; a goavro codec is safe for concurrent use.
var (
	Event         *goavro.Codec // triage.Event, from Event.avsc
	EnrichedEvent *goavro.Codec // triage.EnrichedEvent, from EnrichedEvent.avsc
	Escalation    *goavro.Codec // triage.Escalation, from Escalation.avsc
	Explanation   *goavro.Codec // triage.Explanation, from Explanation.avsc
)

//go:embed *.avsc
var files embed.FS

// builtin lists the schemas in a fixed order: each one's full name, its file
// and where its codec is kept.
var builtin = []struct {
	name  string
	file  string
	codec **goavro.Codec
}{
	{EventName, "Event.avsc", &Event},
	{EnrichedEventName, "EnrichedEvent.avsc", &EnrichedEvent},
	{EscalationName, "Escalation.avsc", &Escalation},
	{ExplanationName, "Explanation.avsc", &Explanation},
}

func init() {
	// The files are part of the binary, so a schema that does not parse is
	// a build defect, caught by this package's tests before any release.
	for _, b := range builtin {
		c, err := parse(b.file)
		if err != nil {
			panic(err)
		}
		*b.codec = c
	}
}

func parse(file string) (*goavro.Codec, error) {
	text, err := files.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("unable to read embedded schema %s: %w", file, err)
	}
	c, err := goavro.NewCodec(string(text))
	if err != nil {
		return nil, fmt.Errorf("unable to parse embedded schema %s: %w", file, err)
	}
	return c, nil
}

// Names returns the full names of all built-in schemas, in a fixed order:
// Event, EnrichedEvent, Escalation, Explanation. The slice is the caller's.
func Names() []string {
	names := make([]string, len(builtin))
	for i, b := range builtin {
		names[i] = b.name
	}
	return names
}

// All returns the codecs of all built-in schemas, in the order of Names.
// The slice is the caller's; the codecs are shared.
func All() []*goavro.Codec {
	codecs := make([]*goavro.Codec, len(builtin))
	for i, b := range builtin {
		codecs[i] = *b.codec
	}
	return codecs
}

// Codec returns the codec of the built-in schema with the given full name,
// such as "triage.Event", or an error wrapping ErrUnknown.
func Codec(name string) (*goavro.Codec, error) {
	for _, b := range builtin {
		if b.name == name {
			return *b.codec, nil
		}
	}
	return nil, fmt.Errorf("schema %q: %w", name, ErrUnknown)
}

// Source returns the text of the built-in schema with the given full name,
// as written in its .avsc file (with docs; what is registered with a schema
// registry), or an error wrapping ErrUnknown.
func Source(name string) (string, error) {
	c, err := Codec(name)
	if err != nil {
		return "", err
	}
	return c.Schema(), nil
}
