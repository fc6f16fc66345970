package explain

import (
	"strings"
	"testing"
)

func TestLuhn(t *testing.T) {
	for _, c := range []struct {
		digits string
		want   bool
	}{
		{"4111111111111111", true},
		{"4111111111111112", false},
		{"5500000000000004", true},
		{"378282246310005", true},
		{"6011111111111117", true},
		{"79927398713", true},
		{"79927398710", false},
		{"", false},
		{"12a4", false},
	} {
		if got := Luhn([]byte(c.digits)); got != c.want {
			t.Errorf("Luhn(%q): got %v, want %v", c.digits, got, c.want)
		}
	}
}

func TestIBANValid(t *testing.T) {
	for _, c := range []struct {
		iban string
		want bool
	}{
		{"DE89370400440532013000", true},
		{"GB82WEST12345698765432", true},
		{"FR1420041010050500013M02606", true},
		{"NL91ABNA0417164300", true},
		{"DE89370400440532013001", false}, // one digit off
		{"GB82WEST1234569876543", false},  // one character short
		{"de89370400440532013000", false}, // lower case
		{"DE8937040044", false},           // too short
	} {
		if got := IBANValid(c.iban); got != c.want {
			t.Errorf("IBANValid(%q): got %v, want %v", c.iban, got, c.want)
		}
	}
}

func TestRedactFindsPersonalData(t *testing.T) {
	r, err := NewRedactor(RedactConfig{Patterns: map[string]string{
		"CUSTOMER_ID": `\bcust-[0-9]{6}\b`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in, secret, kind string
	}{
		{"an email address", "write to jane.doe+x@example.co.uk now", "jane.doe+x@example.co.uk",
			"EMAIL"},
		{"a card with spaces", "card 4111 1111 1111 1111 declined", "4111 1111 1111 1111", "CARD"},
		{"a card with dashes", "card 5500-0000-0000-0004.", "5500-0000-0000-0004", "CARD"},
		{"a bare card", "pan=378282246310005", "378282246310005", "CARD"},
		{"a card run into other digits", "card 4111 1111 1111 1111 20 times", "4111 1111 1111 1111",
			"CARD"},
		{"an IBAN in groups", "to DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00",
			"IBAN"},
		{"a compact IBAN", "iban GB82WEST12345698765432", "GB82WEST12345698765432", "IBAN"},
		{"an IBAN run into capitals", "DE89 3704 0044 0532 0130 00 THANKS",
			"DE89 3704 0044 0532 0130 00", "IBAN"},
		{"an international phone", "call +44 20 7946 0958 today", "+44 20 7946 0958", "PHONE"},
		{"a phone with parentheses", "call (555) 123-4567", "555) 123-4567", "PHONE"},
		{"a phone with dashes", "sms 555-123-4567", "555-123-4567", "PHONE"},
		{"a phone with a 00 prefix", "tel 0049 30 1234567", "0049 30 1234567", "PHONE"},
		{"a phone with dots", "tel 020.7946.0958", "020.7946.0958", "PHONE"},
		{"an IPv4 address", "from 192.168.10.20:443", "192.168.10.20", "IP"},
		{"an IPv6 address", "from 2001:db8::8a2e:370:7334 ok", "2001:db8::8a2e:370:7334", "IP"},
		{"a configured pattern", "customer cust-123456 again", "cust-123456", "CUSTOMER_ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Placeholders
			got, n := r.Redact(c.in, &p)
			if strings.Contains(got, c.secret) {
				t.Errorf("got %q, still holding %q", got, c.secret)
			}
			if want := "<" + c.kind + "_1>"; !strings.Contains(got, want) || n != 1 {
				t.Errorf("got %q with %d replacements, want one %s", got, n, want)
			}
		})
	}
}

func TestRedactLeavesOtherTextAlone(t *testing.T) {
	r, _ := NewRedactor(RedactConfig{})
	for _, in := range []string{
		"checkout page took forever to load",
		"latency 123.456 ms at 2024-03-04 10:00:00",
		"at 2024-03-04T10:00:00Z and 12:30:05",
		"order 4111111111111112 is not a card", // fails Luhn, 16 digits: too long for a phone
		"build 20240304 of version 1.2",
		"retry in 1500 ms, 3 of 5",
		"DE89370400440532013001 fails mod 97",
		"event ev-svc-2-1709546402000 and ev-0-1709546400000", // epoch milliseconds
		"trace 0-1709546400123-17",
	} {
		var p Placeholders
		if got, n := r.Redact(in, &p); got != in || n != 0 {
			t.Errorf("Redact(%q): got %q with %d replacements, want it unchanged", in, got, n)
		}
	}
}

func TestPlaceholdersStayConsistent(t *testing.T) {
	r, _ := NewRedactor(RedactConfig{})
	var p Placeholders
	a, _ := r.Redact("from a@example.com to b@example.com", &p)
	b, _ := r.Redact("again b@example.com, then a@example.com", &p)
	if a != "from <EMAIL_1> to <EMAIL_2>" {
		t.Errorf("first text: got %q", a)
	}
	if b != "again <EMAIL_2>, then <EMAIL_1>" {
		t.Errorf("second text: got %q, want the same placeholders", b)
	}

	t.Run("redacting twice changes nothing", func(t *testing.T) {
		in := "a@example.com 4111 1111 1111 1111 +44 20 7946 0958 10.0.0.1"
		once, _ := r.Redact(in, &p)
		twice, n := r.Redact(once, &p)
		if twice != once || n != 0 {
			t.Errorf("got %q (%d replacements), want %q", twice, n, once)
		}
	})

	t.Run("another incident numbers from 1", func(t *testing.T) {
		var q Placeholders
		got, _ := r.Redact("b@example.com", &q)
		if got != "<EMAIL_1>" {
			t.Errorf("got %q, want <EMAIL_1>", got)
		}
	})
}

func TestConfigRejectsBadPatterns(t *testing.T) {
	for name, pat := range map[string]string{
		"lower":    `x`,
		"EMAIL":    `x`,
		"EMPTY_OK": `a*`,
		"BROKEN":   `(`,
	} {
		cfg := DefaultConfig()
		cfg.Redact.Patterns = map[string]string{name: pat}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("pattern %s %q: got %v, want an error naming it", name, pat, err)
		}
	}
}
