package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedactedHidesEveryPassword(t *testing.T) {
	const pw = "hunter2"
	c := valid()
	c.Kafka.SASL = SASL{Mechanism: SASLPlain, Username: "alice", Password: pw}
	c.SchemaRegistry.URL = "https://bob:" + pw + "@sr:8081"
	c.SchemaRegistry.Username, c.SchemaRegistry.Password = "bob", pw

	for _, tt := range []struct {
		name string
		text string
	}{
		{"String", c.String()},
		{"%v of the config", fmt.Sprintf("%v", c)},
		{"%+v of the kafka section", fmt.Sprintf("%+v", c.Kafka)},
		{"%v of the sasl section", fmt.Sprint(c.Kafka.SASL)},
		{"%+v of the schema registry", fmt.Sprintf("%+v", c.SchemaRegistry)},
		{"%+v of Redacted", fmt.Sprintf("%+v", c.Redacted())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.text, pw) {
				t.Errorf("got %q, want no password in it", tt.text)
			}
			if !strings.Contains(tt.text, redacted) {
				t.Errorf("got %q, want %q in place of the password", tt.text, redacted)
			}
		})
	}

	if got := c.Kafka.SASL.Password; got != pw {
		t.Errorf("got password %q after Redacted, want the original left alone", got)
	}
	if got := c.Redacted().Kafka.SASL.Username; got != "alice" {
		t.Errorf("got username %q, want usernames shown", got)
	}
}

func TestRedactedKeepsEmptyPasswordsEmpty(t *testing.T) {
	r := valid().Redacted()
	if r.Kafka.SASL.Password != "" || r.SchemaRegistry.Password != "" {
		t.Errorf("got passwords %q and %q, want empty ones left empty",
			r.Kafka.SASL.Password, r.SchemaRegistry.Password)
	}
}

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"http://sr:8081", "http://sr:8081"},
		{"http://u:p@sr:8081/x", "http://u:xxxxx@sr:8081/x"},
		{"http://u:p@sr:80%zz", redacted},
	} {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
