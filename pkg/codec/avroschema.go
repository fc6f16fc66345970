package codec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// goavro gives a union's value as a one-entry map keyed by the branch's type
// name, {"string": "x"}. A path must step through that wrapper, but only
// where the schema has a union: a user's map or record with a single entry
// looks the same. So each path is compiled against each schema, and every
// step knows whether the value it reaches is a union. This file reads the
// schema text into the little tree that takes.

// avroType is one type of a schema, reduced to what a path lookup needs.
// Named types are shared by pointer, so recursive schemas are finite.
type avroType struct {
	kind     string               // record, map, array, union, enum, fixed, or a primitive
	name     string               // the key goavro gives a union value of this type
	fields   map[string]*avroType // record fields
	values   *avroType            // map values
	branches []*avroType          // union branches
}

var primitives = map[string]bool{
	"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true,
}

// parseAvroType reads an Avro schema text that goavro has accepted.
// Whatever it does not understand becomes a type paths cannot enter, which
// only costs the union unwrapping below it.
func parseAvroType(text string) (*avroType, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, fmt.Errorf("unable to read schema: %w", err)
	}
	p := schemaReader{named: make(map[string]*avroType)}
	return p.read(v, ""), nil
}

type schemaReader struct {
	named map[string]*avroType // full name to type, filled as definitions are read
}

func (p *schemaReader) read(v any, ns string) *avroType {
	switch v := v.(type) {
	case string:
		return p.ref(v, ns)
	case []any:
		u := &avroType{kind: "union", name: "union"}
		for _, b := range v {
			u.branches = append(u.branches, p.read(b, ns))
		}
		return u
	case map[string]any:
		return p.readObject(v, ns)
	}
	return &avroType{kind: "unknown"}
}

func (p *schemaReader) readObject(m map[string]any, ns string) *avroType {
	typ := m["type"]
	s, ok := typ.(string)
	if !ok {
		return p.read(typ, ns) // {"type": {...}} or {"type": [...]}
	}
	switch s {
	case "record", "error", "enum", "fixed":
		full, inner := fullName(m, ns)
		t := &avroType{kind: s, name: full}
		if s == "error" {
			t.kind = "record"
		}
		// Registered before its fields are read: a field may refer to it.
		p.named[full] = t
		if t.kind == "record" {
			t.fields = make(map[string]*avroType)
			fields, _ := m["fields"].([]any)
			for _, f := range fields {
				f, _ := f.(map[string]any)
				if name, ok := f["name"].(string); ok {
					t.fields[name] = p.read(f["type"], inner)
				}
			}
		}
		return t
	case "map":
		return &avroType{kind: "map", name: "map", values: p.read(m["values"], ns)}
	case "array":
		return &avroType{kind: "array", name: "array"}
	}
	t := p.ref(s, ns)
	if lt, ok := m["logicalType"].(string); ok && primitives[s] {
		// goavro names a union branch of a logical type "long.timestamp-millis".
		t = &avroType{kind: s, name: s + "." + lt}
	}
	return t
}

// ref resolves a type name: a primitive, a full name, or a name relative to
// the enclosing namespace.
func (p *schemaReader) ref(name, ns string) *avroType {
	if primitives[name] {
		return &avroType{kind: name, name: name}
	}
	if ns != "" && !strings.Contains(name, ".") {
		if t, ok := p.named[ns+"."+name]; ok {
			return t
		}
	}
	if t, ok := p.named[name]; ok {
		return t
	}
	return &avroType{kind: "unknown", name: name}
}

// fullName returns the full name of a named type and the namespace its own
// definitions are read in.
func fullName(m map[string]any, ns string) (full, inner string) {
	name, _ := m["name"].(string)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name, name[:i]
	}
	if explicit, ok := m["namespace"].(string); ok {
		ns = explicit
	}
	if ns == "" {
		return name, ""
	}
	return ns + "." + name, ns
}

// unwrapMode says whether the value at a step of a path is a union wrapper.
type unwrapMode uint8

const (
	unwrapNever  unwrapMode = iota // not a union in the schema (and always in JSON)
	unwrapAlways                   // a union in every branch the path can be in
	unwrapMaybe                    // a union in some branches only: check the key
)

// unwrap undoes goavro's union wrapper where the schema has one.
type unwrap struct {
	mode  unwrapMode
	names map[string]bool // unwrapMaybe: branch names that mark a wrapper
}

func (u *unwrap) apply(v any) any {
	if u.mode == unwrapNever {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return v
	}
	for k, inner := range m {
		if u.mode == unwrapAlways || u.names[k] {
			return inner
		}
	}
	return v
}

// settle takes the types a path can be at and returns how to unwrap the
// value there and the types it can have once unwrapped.
func settle(types []*avroType) (unwrap, []*avroType) {
	var u unwrap
	var out []*avroType
	unions := 0
	for _, t := range types {
		if t.kind != "union" {
			out = append(out, t)
			continue
		}
		unions++
		for _, b := range t.branches {
			if u.names == nil {
				u.names = make(map[string]bool)
			}
			u.names[b.name] = true
			if primitives[b.kind] {
				u.names[b.kind] = true // a logical type goavro did not know
			}
			if b.kind != "null" {
				out = append(out, b)
			}
		}
	}
	switch {
	case unions == 0:
		u.names = nil
	case unions == len(types):
		u.mode, u.names = unwrapAlways, nil
	default:
		u.mode = unwrapMaybe
	}
	return u, out
}

// child returns the types that key can lead to from types.
func child(types []*avroType, key string) []*avroType {
	var out []*avroType
	for _, t := range types {
		switch t.kind {
		case "record":
			if f, ok := t.fields[key]; ok {
				out = append(out, f)
			}
		case "map":
			out = append(out, t.values)
		}
	}
	return out
}
