package config

import (
	"fmt"
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// redacted replaces a secret wherever the configuration is shown.
const redacted = "<redacted>"

func mask(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// Redacted returns a copy of c that is safe to log: every password that is
// set reads "<redacted>" and the schema registry URL has its userinfo
// password masked. Empty passwords stay empty so that the copy still shows
// which are set.
func (c Config) Redacted() Config {
	for _, s := range c.secrets() {
		*s.password = mask(*s.password)
	}
	c.SchemaRegistry.URL = redactURL(c.SchemaRegistry.URL)
	return c
}

// String returns c, redacted, as YAML in the layout of the config file.
func (c Config) String() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return fmt.Sprintf("<config: unable to marshal: %v>", err)
	}
	enc.Close()
	return b.String()
}

// String returns s with its password masked, so that printing a SASL or a
// struct holding one with the fmt verbs does not show the password.
func (s SASL) String() string {
	s.Password = mask(s.Password)
	type fields SASL // without the String method
	return fmt.Sprintf("%+v", fields(s))
}

// String returns r with its password and the password in its URL masked.
func (r SchemaRegistry) String() string {
	r.Password = mask(r.Password)
	r.URL = redactURL(r.URL)
	type fields SchemaRegistry // without the String method
	return fmt.Sprintf("%+v", fields(r))
}

// redactURL masks the password in a URL's userinfo. A URL that does not
// parse is masked whole, since where its secret is cannot be told.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return redacted
	}
	return u.Redacted()
}

// String returns h with its token masked.
func (h HTTP) String() string {
	h.Token = mask(h.Token)
	type fields HTTP // without the String method
	return fmt.Sprintf("%+v", fields(h))
}
