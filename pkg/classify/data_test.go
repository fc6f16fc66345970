package classify

import (
	"errors"
	"strings"
	"testing"
)

func TestReadExamples(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		cols Columns
		want []Example
	}{
		{"CSV with the default columns", "label,text\nx,hello there\ny,\"a, quoted\ntext\"\n",
			Columns{}, []Example{{"hello there", "x"}, {"a, quoted\ntext", "y"}}},
		{"CSV with named columns and a BOM", "\uFEFFtext,category,extra\nhi you,a,1\n",
			Columns{Label: "category"}, []Example{{"hi you", "a"}}},
		{"JSON lines", "{\"text\":\"hi\",\"label\":\"a\"}\n\n{\"text\":\"yo\",\"label\":3}\n",
			Columns{}, []Example{{"hi", "a"}, {"yo", "3"}}},
		{"JSON lines with named fields", "  {\"body\":\"hi\",\"cat\":\"a\"}",
			Columns{Text: "body", Label: "cat"}, []Example{{"hi", "a"}}},
		{"invalid UTF-8 in a text", "text,label\n\"ok \xff\",a\n", Columns{},
			[]Example{{"ok \uFFFD", "a"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadExamples(strings.NewReader(tt.in), tt.cols)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("example %d: got %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadExamplesNamesTheBadRow(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want string
	}{
		{"an empty label", "text,label\nok,a\nfine,\n", "row 2 (line 3): empty label"},
		{"a text without words", "text,label\nok,a\n?!,b\n", "row 2 (line 3): text has no word"},
		{"a short CSV row", "text,label\nok,a\nlonely\n", "row 2"},
		{"a missing column", "body,label\nok,a\n", `lacks the text column "text"`},
		{"bad JSON", "{\"text\":\"a\",\"label\":\"x\"}\n{oops\n", "row 2 (line 2)"},
		{"a JSON row without a label", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n",
			"row 2 (line 2)"},
		{"nothing at all", "  \n", "empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadExamples(strings.NewReader(tt.in), Columns{})
			if !errors.Is(err, ErrData) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want ErrData saying %q", err, tt.want)
			}
		})
	}
}

func TestCheckClasses(t *testing.T) {
	for _, tt := range []struct {
		name string
		ex   []Example
		want string // "" for no error
	}{
		{"two classes of two", []Example{{"a", "x"}, {"b", "y"}, {"c", "x"}, {"d", "y"}}, ""},
		{"one class", []Example{{"a", "x"}, {"b", "x"}}, "1 classes, want at least 2"},
		{"a class of one", []Example{{"a", "x"}, {"b", "x"}, {"c", "y"}},
			`class "y" (first at example 3) has 1 examples`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckClasses(tt.ex)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.want != "" &&
				(!errors.Is(err, ErrData) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error %v, want ErrData saying %q", err, tt.want)
			}
		})
	}
}

func TestSplitIsStratifiedAndSeeded(t *testing.T) {
	var ex []Example
	for i := range 200 {
		label := "big"
		if i%10 == 0 {
			label = "small"
		}
		ex = append(ex, Example{Text: strings.Repeat("w", i%7+1), Label: label})
	}
	train, valid := Split(ex, 0.1, 7)
	count := func(set []Example, label string) int {
		n := 0
		for _, e := range set {
			if e.Label == label {
				n++
			}
		}
		return n
	}
	if got := [2]int{count(valid, "big"), count(valid, "small")}; got != [2]int{18, 2} {
		t.Errorf("got %v validation examples of big and small, want [18 2]", got)
	}
	if len(train)+len(valid) != len(ex) {
		t.Errorf("got %d + %d examples, want %d", len(train), len(valid), len(ex))
	}
	again, _ := Split(ex, 0.1, 7)
	other, _ := Split(ex, 0.1, 8)
	same := func(a, b []Example) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if !same(train, again) {
		t.Error("the same seed gave different splits")
	}
	if same(train, other) {
		t.Error("seeds 7 and 8 gave the same split")
	}
	// Every class keeps at least one example on each side.
	tiny := []Example{{"a", "x"}, {"b", "x"}, {"c", "y"}, {"d", "y"}}
	tr, va := Split(tiny, 0.1, 1)
	if len(tr) != 2 || len(va) != 2 {
		t.Errorf("got %d and %d examples of 2 classes of 2, want 2 and 2", len(tr), len(va))
	}
}
