package explain

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Redactor replaces personal data in text by typed placeholders such as
// "<EMAIL_1>". It finds, in this order: patterns from the configuration,
// email addresses, IBANs (mod-97 checked), payment card numbers (Luhn
// checked, 13 to 19 digits), IP addresses (v6 and v4, parsed) and phone
// numbers (7 to 15 digits with an international prefix or separators, or
// 10 to 15 bare digits; dates and decimals are left alone). Placeholders do
// not match any detector, so redacting twice changes nothing.
//
// A Redactor is immutable and safe for concurrent use; the numbering lives
// in the Placeholders given to Redact.
type Redactor struct {
	custom []customPattern
}

type customPattern struct {
	kind string
	re   *regexp.Regexp
}

// Placeholders numbers the values an incident redacted, so that one value
// gets one placeholder for the life of the incident, across explanations
// and restarts. The zero value is ready to use. It is not safe for
// concurrent use.
type Placeholders struct {
	// Values maps a redacted value to its placeholder.
	Values map[string]string `json:"values,omitempty"`
	// Next is the last number used per type.
	Next map[string]int `json:"next,omitempty"`
}

// clone returns a deep copy of p.
func (p Placeholders) clone() Placeholders {
	return Placeholders{Values: maps.Clone(p.Values), Next: maps.Clone(p.Next)}
}

// placeholder returns the placeholder of value, numbering it on first use.
func (p *Placeholders) placeholder(kind, value string) string {
	if ph, ok := p.Values[value]; ok {
		return ph
	}
	if p.Values == nil {
		p.Values = make(map[string]string)
		p.Next = make(map[string]int)
	}
	p.Next[kind]++
	ph := "<" + kind + "_" + strconv.Itoa(p.Next[kind]) + ">"
	p.Values[value] = ph
	return ph
}

// NewRedactor returns a redactor with the built-in detectors and cfg's
// patterns, which must have passed Config.Validate.
func NewRedactor(cfg RedactConfig) (*Redactor, error) {
	r := &Redactor{}
	for _, kind := range slices.Sorted(maps.Keys(cfg.Patterns)) {
		re, err := regexp.Compile(cfg.Patterns[kind])
		if err != nil {
			return nil, fmt.Errorf("unable to compile redact pattern %s: %w", kind, err)
		}
		r.custom = append(r.custom, customPattern{kind, re})
	}
	return r, nil
}

var (
	emailRe = regexp.MustCompile(
		`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// ibanRe is a country code, check digits and 11 to 30 letters or
	// digits, in groups separated by single spaces or not at all.
	ibanRe = regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b`)
	// cardRe is 13 to 19 digits with single spaces or dashes between.
	cardRe = regexp.MustCompile(`\b[0-9](?:[ \-]?[0-9]){12,18}\b`)
	ipv6Re = regexp.MustCompile(`[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*`)
	ipv4Re = regexp.MustCompile(`\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b`)
	// phoneRe is an optional "+" or "00" prefix, then digits with single
	// separators (space, dot, dash, parentheses).
	phoneRe = regexp.MustCompile(`(?:\+|\b)\(?[0-9](?:[ .\-]?\(?[0-9]\)?){6,18}`)
	// dateRe is a date, or the start of a date and time.
	dateRe = regexp.MustCompile(`^(?:[0-9]{4}[\-./][0-9]{1,2}[\-./][0-9]{1,2}(?:$| )|` +
		`[0-9]{1,2}[\-./][0-9]{1,2}[\-./][0-9]{2,4}(?:$| ))`)
)

// Redact returns s with every value found replaced by its placeholder in
// p, and the number of replacements.
func (r *Redactor) Redact(s string, p *Placeholders) (string, int) {
	if s == "" {
		return s, 0
	}
	n := 0
	for _, c := range r.custom {
		s = replaceChecked(s, c.re, c.kind, p, &n, nil)
	}
	// Each detector runs only on the stretches of s made of the bytes its
	// matches can hold, and worth a look: Go's regular expressions cost
	// tens of microseconds per KiB each, the scan a fraction of that.
	if strings.IndexByte(s, '@') >= 0 {
		s = scan(s, &emailBytes, hasAt, emailRe, "EMAIL", p, &n, nil)
	}
	if !hasDigit(s) {
		return s, n
	}
	s = scan(s, &ibanBytes, longEnough, ibanRe, "IBAN", p, &n, ibanSpan)
	s = scan(s, &numberBytes, sevenDigits, cardRe, "CARD", p, &n, cardSpan)
	if strings.IndexByte(s, ':') >= 0 {
		s = scan(s, &ipv6Bytes, twoColons, ipv6Re, "IP", p, &n, ipv6Span)
	}
	s = scan(s, &ipv4Bytes, threeDots, ipv4Re, "IP", p, &n, ipv4Span)
	s = scan(s, &numberBytes, sevenDigits, phoneRe, "PHONE", p, &n, phoneSpan)
	return s, n
}

// byteSet is a set of bytes.
type byteSet [256]bool

func setOf(ranges ...string) byteSet {
	var b byteSet
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for c := int(r[0]); c <= int(r[2]); c++ {
				b[c] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			b[r[i]] = true
		}
	}
	return b
}

// The bytes each detector's matches are made of.
var (
	emailBytes  = setOf("a-z", "A-Z", "0-9", "._%+-@")
	ibanBytes   = setOf("A-Z", "0-9", " ")
	numberBytes = setOf("0-9", " +-().")
	ipv6Bytes   = setOf("a-f", "A-F", "0-9", ":.")
	ipv4Bytes   = setOf("0-9", ".")
)

func hasAt(s string) bool       { return strings.IndexByte(s, '@') > 0 }
func twoColons(s string) bool   { return strings.Count(s, ":") >= 2 }
func threeDots(s string) bool   { return strings.Count(s, ".") >= 3 }
func longEnough(s string) bool  { return len(s) >= 15 && hasDigit(s) }
func sevenDigits(s string) bool { return countDigits(s) >= 7 }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// scan applies replaceChecked to each maximal stretch of s made of bytes
// in set that worth accepts, with one byte of context on either side so
// that \b reads as it would in s. Matches never take in the context byte,
// which is not in set.
func scan(
	s string, set *byteSet, worth func(string) bool, re *regexp.Regexp, kind string,
	p *Placeholders, n *int, check func(m string) (from, to int, ok bool),
) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !set[s[i]] {
			i++
			continue
		}
		j := i
		for j < len(s) && set[s[j]] {
			j++
		}
		if worth(s[i:j]) {
			from, to := max(i-1, 0), min(j+1, len(s))
			seg := replaceChecked(s[from:to], re, kind, p, n, check)
			if seg != s[from:to] {
				if from < last { // the context byte was written already
					seg = seg[last-from:]
					from = last
				}
				b.WriteString(s[last:from])
				b.WriteString(seg)
				last = to
			}
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// replaceChecked replaces the parts of the matches of re that check
// accepts. check returns the span within the match to replace, or ok false
// to keep the match; a nil check accepts whole matches.
func replaceChecked(
	s string, re *regexp.Regexp, kind string, p *Placeholders, n *int,
	check func(m string) (from, to int, ok bool),
) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		from, to := 0, l[1]-l[0]
		if check != nil {
			var ok bool
			if from, to, ok = check(s[l[0]:l[1]]); !ok {
				continue
			}
		}
		from, to = l[0]+from, l[0]+to
		b.WriteString(s[last:from])
		b.WriteString(p.placeholder(kind, s[from:to]))
		*n++
		last = to
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func hasDigit(s string) bool {
	return strings.IndexAny(s, "0123456789") >= 0
}

// digitsOf returns the digits of s and, for each, its byte offset in s.
func digitsOf(s string) ([]byte, []int) {
	var d []byte
	var at []int
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			d = append(d, s[i])
			at = append(at, i)
		}
	}
	return d, at
}

// cardSpan accepts m, or the longest part of it cut at separators, when
// it has 13 to 19 digits that pass the Luhn check, in groups of at most 6
// when there are separators, and is not an epoch time in milliseconds.
// Cutting only at separators keeps a long bare number from yielding a
// lucky sub-string.
func cardSpan(m string) (int, int, bool) {
	for _, sp := range cuts(m, " -") {
		part := m[sp[0]:sp[1]]
		d, _ := digitsOf(part)
		if len(d) >= 13 && len(d) <= 19 && Luhn(d) && !epochMillis(d) &&
			(len(d) == len(part) || longestGroup(part) <= 6) {
			return sp[0], sp[1], true
		}
	}
	return 0, 0, false
}

// epochMillis reports whether digits read as a time in milliseconds since
// 1970 between 2001 and 2039, which IDs and logs carry often, and which no
// card number (none of 13 digits starts with 1) or phone number in
// international form (no country code of 13 digits starts with 1 or 2) is.
func epochMillis(digits []byte) bool {
	return len(digits) == 13 && (digits[0] == '1' || digits[0] == '2' && digits[1] < '2')
}

// longestGroup returns the length of the longest run of digits in s.
func longestGroup(s string) int {
	best, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// cuts returns the spans of m to try, longest first: m itself, then each
// prefix ending before a separator and each suffix starting after one.
func cuts(m, seps string) [][2]int {
	out := [][2]int{{0, len(m)}}
	for i := len(m) - 1; i > 0; i-- {
		if strings.IndexByte(seps, m[i]) >= 0 {
			out = append(out, [2]int{0, i})
		}
	}
	for i := 0; i < len(m)-1; i++ {
		if strings.IndexByte(seps, m[i]) >= 0 {
			out = append(out, [2]int{i + 1, len(m)})
		}
	}
	slices.SortStableFunc(out, func(a, b [2]int) int { return (b[1] - b[0]) - (a[1] - a[0]) })
	return out
}

// Luhn reports whether digits, ASCII '0' to '9', pass the Luhn check.
func Luhn(digits []byte) bool {
	if len(digits) == 0 {
		return false
	}
	sum := 0
	for i := range digits {
		c := digits[len(digits)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		v := int(c - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// ibanSpan accepts m, or the longest prefix of it cut at a space, when
// it is a valid IBAN once its spaces are removed.
func ibanSpan(m string) (int, int, bool) {
	for _, sp := range cuts(m, " ") {
		if sp[0] != 0 {
			continue
		}
		if IBANValid(strings.ReplaceAll(m[:sp[1]], " ", "")) {
			return 0, sp[1], true
		}
	}
	return 0, 0, false
}

// IBANValid reports whether s, without spaces, is an IBAN: two letters,
// two check digits and 11 to 30 letters or digits, whose mod-97 check
// (ISO 13616) gives 1. Letters must be upper case.
func IBANValid(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i < 2 && (c < 'A' || c > 'Z'):
			return false
		case i >= 2 && i < 4 && (c < '0' || c > '9'):
			return false
		case !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z'):
			return false
		}
	}
	rem := 0
	rotated := s[4:] + s[:4]
	for i := 0; i < len(rotated); i++ {
		c := rotated[i]
		if c >= 'A' {
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		} else {
			rem = (rem*10 + int(c-'0')) % 97
		}
	}
	return rem == 1
}

// ipv6Span accepts m when it parses as an IPv6 address with at least two
// groups, which leaves times such as "12:30:05" alone.
func ipv6Span(m string) (int, int, bool) {
	m = strings.TrimRight(m, ".:")
	if strings.Count(m, ":") < 2 || len(m) < 3 {
		return 0, 0, false
	}
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is6() || a.IsUnspecified() && m == "::" {
		return 0, 0, false
	}
	return 0, len(m), true
}

func ipv4Span(m string) (int, int, bool) {
	a, err := netip.ParseAddr(m)
	if err != nil || !a.Is4() {
		return 0, 0, false
	}
	return 0, len(m), true
}

// phoneSpan accepts m as a phone number: 7 to 15 digits, with a "+" or
// "00" prefix, or with separators between groups of at most 8 digits, or
// 10 to 15 bare digits; not a date, a decimal number or an epoch time in
// milliseconds.
func phoneSpan(m string) (int, int, bool) {
	m = strings.TrimRight(m, " .-(")
	d, _ := digitsOf(m)
	if len(d) < 7 || len(d) > 15 || epochMillis(d) {
		return 0, 0, false
	}
	if dateRe.MatchString(m) {
		return 0, 0, false
	}
	plus := strings.HasPrefix(m, "+") || strings.HasPrefix(m, "00")
	seps := len(m) - len(d)
	if strings.HasPrefix(m, "+") {
		seps--
	}
	dots := strings.Count(m, ".")
	if dots == 1 && seps == 1 {
		return 0, 0, false // a decimal number
	}
	if !plus && (seps == 0 && len(d) < 10 || seps > 0 && longestGroup(m) > 8) {
		return 0, 0, false
	}
	return 0, len(m), true
}
