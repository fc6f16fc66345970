package schemas

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/linkedin/goavro/v2"
)

func TestSchemasParse(t *testing.T) {
	names := Names()
	codecs := All()
	if len(names) != 4 || len(codecs) != len(names) {
		t.Fatalf("got %d names and %d codecs, want 4 of each", len(names), len(codecs))
	}
	for i, name := range names {
		c, err := Codec(name)
		if err != nil {
			t.Fatalf("Codec(%q): %v", name, err)
		}
		if c != codecs[i] {
			t.Errorf("Codec(%q) is not All()[%d]", name, i)
		}
		if got := c.TypeName(); got.String() != name {
			t.Errorf("full name of %s: got %q, want %q", name, got.String(), name)
		}
		src, err := Source(name)
		if err != nil {
			t.Fatalf("Source(%q): %v", name, err)
		}
		// Every source must parse again on its own, as a registry would.
		again, err := goavro.NewCodec(src)
		if err != nil {
			t.Fatalf("parsing the source of %s again: %v", name, err)
		}
		if again.Rabin != c.Rabin {
			t.Errorf("%s parsed twice: got fingerprint %#016x, want %#016x",
				name, again.Rabin, c.Rabin)
		}
	}
}

func TestCodecUnknownName(t *testing.T) {
	if _, err := Codec("triage.Nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Codec of an unknown name: got %v, want ErrUnknown", err)
	}
	if _, err := Source("Event"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Source of a short name: got %v, want ErrUnknown", err)
	}
}

// TestFingerprintsStable pins the 64-bit Rabin fingerprint of each schema.
// Single-object encoded records carry it, so a reader finds the schema by it:
// changing a schema changes its fingerprint, and old readers no longer find
// the new one. Update a value here only together with a compatible change.
func TestFingerprintsStable(t *testing.T) {
	for _, tt := range []struct {
		name string
		want uint64
	}{
		{EventName, 0xf6d245963efdb2c6},
		{EnrichedEventName, 0x781544a23202760a},
		{EscalationName, 0xed6d5813551af5cd},
		{ExplanationName, 0x63ea594d1d140be8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Codec(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if c.Rabin != tt.want {
				t.Errorf("got fingerprint %#016x, want %#016x", c.Rabin, tt.want)
			}
			if got := crc64Avro([]byte(c.CanonicalSchema())); got != c.Rabin {
				t.Errorf("CRC-64-AVRO of the canonical form: got %#016x, want %#016x",
					got, c.Rabin)
			}

			// The single-object header carries the same fingerprint.
			soe, err := c.SingleFromNative(nil, zeroValue(t, c))
			if err != nil {
				t.Fatal(err)
			}
			if got := binary.LittleEndian.Uint64(soe[2:10]); got != tt.want {
				t.Errorf("fingerprint in the single-object header: got %#016x, want %#016x",
					got, tt.want)
			}
		})
	}
}

// TestNestedDefinitionsMatch checks that a record defined inline in another
// file is, field for field and doc for doc, the one of its own file.
func TestNestedDefinitionsMatch(t *testing.T) {
	for _, tt := range []struct {
		outer, field, inner string
	}{
		{"EnrichedEvent.avsc", "event", "Event.avsc"},
		{"Escalation.avsc", "enriched", "EnrichedEvent.avsc"},
	} {
		t.Run(tt.outer+" "+tt.field, func(t *testing.T) {
			nested := fieldType(t, readJSON(t, tt.outer), tt.field)
			nested["namespace"] = "triage"
			want := readJSON(t, tt.inner)
			if !reflect.DeepEqual(nested, want) {
				got, _ := json.Marshal(nested)
				w, _ := json.Marshal(want)
				t.Errorf("inline definition differs:\ngot  %s\nwant %s", got, w)
			}
		})
	}
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := files.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

func fieldType(t *testing.T, record map[string]any, field string) map[string]any {
	t.Helper()
	fields, _ := record["fields"].([]any)
	for _, f := range fields {
		f, _ := f.(map[string]any)
		if f["name"] == field {
			typ, ok := f["type"].(map[string]any)
			if !ok {
				t.Fatalf("field %q: got type %T, want an inline record", field, f["type"])
			}
			return typ
		}
	}
	t.Fatalf("no field %q", field)
	return nil
}

// zeroValue decodes the smallest valid binary datum of c: every string
// empty, every number zero, every union null, every array and map empty.
// Such a datum is all zero bytes, one per field at most.
func zeroValue(t *testing.T, c *goavro.Codec) any {
	t.Helper()
	v, _, err := c.NativeFromBinary(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// crc64Avro is the fingerprint of the Avro specification, computed here
// from its definition rather than taken from goavro.
func crc64Avro(b []byte) uint64 {
	const empty = 0xc15d213aa4d7a795
	var table [256]uint64
	for i := range table {
		fp := uint64(i)
		for range 8 {
			fp = (fp >> 1) ^ (empty & -(fp & 1))
		}
		table[i] = fp
	}
	fp := uint64(empty)
	for _, c := range b {
		fp = (fp >> 8) ^ table[byte(fp)^c]
	}
	return fp
}
