package classify

import (
	"strings"
	"testing"
)

func words(text string) string {
	var t tokens
	tokenize(text, &t)
	out := make([]string, t.len())
	for i := range out {
		out[i] = string(t.word(i))
	}
	return strings.Join(out, "|")
}

func TestTokenize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Hello, World!", "hello|world"},
		{"I haven't got my card's PIN", "i|havent|got|my|cards|pin"},
		{"it\u2019s 2 weeks", "its|2|weeks"},
		{"'quoted' words'", "quoted|words"},
		{"Überweisung fällig", "überweisung|fällig"},
		{"tab\tand\nnewline", "tab|and|newline"},
		{"bad \xff\xfe bytes", "bad|bytes"},
		{"top-up £10", "top|up|10"},
		{"", ""},
		{" ?! ", ""},
	} {
		if got := words(tt.in); got != tt.want {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFeatures(t *testing.T) {
	spec := featureSpec{buckets: 1000, wordNgrams: 2, minn: 3, maxn: 5, lead: 1}
	var (
		toks tokens
		fs   featureSet
	)
	tokenize("card arrived", &toks)
	spec.featurize(&toks, &fs)
	// Two words, one bigram, one lead word; "<card>" has 6 bytes: n-grams
	// of 3, 4 and 5 bytes, 4+3+2, "<arrived>" 9 bytes: 7+6+5.
	if got, want := len(fs.buckets), 2+1+1+9+18; got != want {
		t.Errorf("got %d features, want %d", got, want)
	}
	if fs.nword != 4 {
		t.Errorf("got %d word features, want 4", fs.nword)
	}
	if fs.buckets[3] == fs.buckets[0] {
		t.Errorf("the lead word and the word share bucket %d, want their own spaces",
			fs.buckets[0])
	}
	for _, b := range fs.buckets {
		if b >= spec.buckets {
			t.Fatalf("got bucket %d, want below %d", b, spec.buckets)
		}
	}
	first := append([]uint32(nil), fs.buckets...)
	tokenize("Card  ARRIVED!", &toks)
	spec.featurize(&toks, &fs)
	for i := range first {
		if first[i] != fs.buckets[i] {
			t.Fatalf("feature %d: got %d for the same words, want %d", i, fs.buckets[i], first[i])
		}
	}
	// A word of one letter is shorter than the shortest n-gram but for its
	// boundaries: "<a>" yields nothing but the word itself, and its lead.
	tokenize("a", &toks)
	spec.featurize(&toks, &fs)
	if len(fs.buckets) != 2 {
		t.Errorf("got %d features of \"a\", want 2", len(fs.buckets))
	}
}
