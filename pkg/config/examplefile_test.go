package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exampleFile is the annotated example configuration at the repository root.
const exampleFile = "../../config.example.yaml"

// TestExampleFileIsDefault keeps config.example.yaml from drifting from
// Default: loaded, it must equal Default apart from the example rules.
func TestExampleFileIsDefault(t *testing.T) {
	got := mustLoad(t, exampleFile, noEnv)

	// The example sets two rules, where the default is none, to show their
	// form; and its [] and {} decode to empty lists and maps, not nil.
	wantRules := []Rule{
		{Metric: "error_rate", Above: ptr(0.05)},
		{Metric: "free_disk_gb", Below: ptr(1)},
	}
	if !reflect.DeepEqual(got.Rules, wantRules) {
		t.Errorf("got example rules %+v, want %+v", got.Rules, wantRules)
	}
	got.Rules = nil
	if len(got.Input.SchemaFiles) == 0 {
		got.Input.SchemaFiles = nil
	}
	if len(got.Input.Mapping.MetricFields) == 0 {
		got.Input.Mapping.MetricFields = nil
	}
	if len(got.Anomaly.Metrics) == 0 {
		got.Anomaly.Metrics = nil
	}
	if len(got.Explainer.RedactPatterns) == 0 {
		got.Explainer.RedactPatterns = nil
	}

	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("got the example differing from Default:\n%s", diffLines(got, want))
	}
}

// diffLines returns the lines of got and want as YAML that differ, or both
// in Go syntax when their YAML is the same.
func diffLines(got, want Config) string {
	g := strings.Split(got.String(), "\n")
	w := strings.Split(want.String(), "\n")
	var b strings.Builder
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d: got %q, want %q\n", i+1, gl, wl)
		}
	}
	if b.Len() == 0 {
		return fmt.Sprintf("got %#v\nwant %#v", got, want)
	}
	return b.String()
}

// TestExampleFileDocumentsEveryField checks that every field of Config
// appears in config.example.yaml, and that every field that is not a section
// has a comment that, outside the rules, states its default as the value
// the file sets.
func TestExampleFileDocumentsEveryField(t *testing.T) {
	b, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatalf("unable to read the example: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("unable to parse the example: %v", err)
	}
	documented := map[string]string{} // path -> comments
	values := map[string]*yaml.Node{}
	collectKeys(doc.Content[0], "", documented, values)

	for _, f := range fieldPaths(reflect.TypeFor[Config](), "") {
		comment, ok := documented[f.path]
		switch {
		case !ok:
			t.Errorf("got no %s in the example, want every field listed", f.path)
		case f.section:
			// A section's fields carry the comments.
		case strings.TrimSpace(comment) == "":
			t.Errorf("got %s without a comment, want one", f.path)
		case f.inList:
			// Fields of a list item describe the item, not a default.
		case f.path == "rules":
			if !strings.Contains(comment, "Default: none") {
				t.Errorf("got rules comment %q, want it to say Default: none", comment)
			}
		default:
			want := "default: " + render(values[f.path])
			if !strings.Contains(comment, want) {
				t.Errorf("got %s comment %q, want it to contain %q", f.path, comment, want)
			}
		}
	}
}

// field is the yaml path of one Config field.
type field struct {
	path    string
	section bool // a struct whose fields are listed on their own
	inList  bool // inside a list of structs, such as rules
}

// fieldPaths returns the yaml path of every field of t, depth first.
func fieldPaths(t reflect.Type, prefix string) []field {
	inList := strings.HasPrefix(prefix, "rules.")
	var fields []field
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		path := prefix + key
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			fields = append(fields, field{path: path, section: true, inList: inList})
			fields = append(fields, fieldPaths(ft, path+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			fields = append(fields, field{path: path, inList: inList})
			fields = append(fields, fieldPaths(ft.Elem(), path+".")...)
		default:
			fields = append(fields, field{path: path, inList: inList})
		}
	}
	return fields
}

// collectKeys records, for every mapping key under n, its comments and its
// value. Items of a list share their parent's path.
func collectKeys(n *yaml.Node, prefix string, comments map[string]string,
	values map[string]*yaml.Node,
) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + k.Value
			comments[path] += k.HeadComment + k.LineComment + v.LineComment
			values[path] = v
			collectKeys(v, path+".", comments, values)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			collectKeys(item, prefix, comments, values)
		}
	}
}

// render writes a value node the way the example's comments state a
// default: scalars as written, "" when empty, lists as [a, b].
func render(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		items := make([]string, len(n.Content))
		for i, item := range n.Content {
			items[i] = render(item)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "{}"
		}
		return "{...}"
	}
	if n.Value == "" {
		return `""`
	}
	return n.Value
}

// TestReadmeShowsExampleFile keeps the configuration reference in the
// README the same as config.example.yaml, which the tests above keep true.
func TestReadmeShowsExampleFile(t *testing.T) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := "```yaml\n" + string(example) + "```"
	if !strings.Contains(string(readme), block) {
		t.Error("README.md does not show config.example.yaml as it is; " +
			"paste the file into its Configuration section")
	}
}
