package classify

import (
	"unicode"
	"unicode/utf8"
)

// tokens is a normalised text cut into words: the bytes of all words one
// after the other in buf, and the end offset of each word in ends.
type tokens struct {
	buf  []byte
	ends []int
}

// reset empties t, keeping its storage.
func (t *tokens) reset() {
	t.buf = t.buf[:0]
	t.ends = t.ends[:0]
}

// len returns the number of words.
func (t *tokens) len() int { return len(t.ends) }

// word returns the i-th word.
func (t *tokens) word(i int) []byte {
	start := 0
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.buf[start:t.ends[i]]
}

// tokenize normalises text and appends its words to t. A word is a maximal
// run of letters, digits and marks, lower-cased; an apostrophe between two
// letters is dropped so that "hasn't" and "hasnt" are the same word; every
// other rune, and every byte that is not valid UTF-8, separates words.
func tokenize(text string, t *tokens) {
	t.reset()
	inWord := false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				t.buf = append(t.buf, c)
				inWord = true
				continue
			case 'A' <= c && c <= 'Z':
				t.buf = append(t.buf, c+('a'-'A'))
				inWord = true
				continue
			case c == '\'' && inWord && i < len(text) && isWordByte(text[i]):
				continue
			}
			if inWord {
				t.ends = append(t.ends, len(t.buf))
				inWord = false
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if r == '\u2019' && inWord && i < len(text) && isWordByte(text[i]) {
			continue
		}
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
			t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
			inWord = true
			continue
		}
		if inWord {
			t.ends = append(t.ends, len(t.buf))
			inWord = false
		}
	}
	if inWord {
		t.ends = append(t.ends, len(t.buf))
	}
}

// isWordByte reports whether c starts a word rune: an ASCII letter or digit,
// or the first byte of a multi-byte rune (checked no further, which only
// decides whether an apostrophe before it is dropped).
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c >= utf8.RuneSelf
}
