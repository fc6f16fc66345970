package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts the name of every environment variable that Load reads.
const EnvPrefix = "TRIAGE_"

// Load returns a worker's configuration: Default, then the YAML file at path
// (path "" means no file), then the TRIAGE_* environment variables, then the
// password files, then Validate. On any error it returns the zero Config.
//
// The file is strict: a key that names no field is an error with its line.
// An environment variable that is set but empty clears a string or a list;
// for a number, a boolean or a duration it is an error, as is any value that
// does not parse. Environment names that match no field are ignored.
//
// A worker_id left empty by the file and the environment is the host name.
func Load(path string) (Config, error) {
	return load(path, os.LookupEnv)
}

// load is Load with the environment passed in, so that tests do not touch
// the process environment.
func load(path string, env func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		if err := decodeFile(path, &c); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return Config{}, err
	}
	if err := c.readPasswordFiles(); err != nil {
		return Config{}, err
	}
	if c.WorkerID == "" {
		c.WorkerID, _ = os.Hostname()
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// decodeFile decodes the YAML file at path over c. An empty file changes
// nothing; a file of more than one YAML document is an error.
func decodeFile(path string, c *Config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("unable to open config file: %w", err)
	}
	defer f.Close()

	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return yamlError(path, err)
	}

	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return yamlError(path, err)
	default:
		return fmt.Errorf("config file %s holds more than one YAML document; want one",
			path)
	}
}

// unknownField matches the decoder's report of a key that names no field.
var unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)

// yamlError turns the decoder's errors into one error per problem, each
// starting with path:line, and names unknown keys as such.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("unable to parse config file %s: %w", path, err)
	}
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			errs = append(errs, fmt.Errorf("%s:%s: unknown key %q", path, m[1], m[2]))
			continue
		}
		if line, rest, ok := strings.Cut(strings.TrimPrefix(msg, "line "), ": "); ok {
			errs = append(errs, fmt.Errorf("%s:%s: %s", path, line, rest))
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %s", path, msg))
	}
	return errors.Join(errs...)
}

// envField is one configuration field that an environment variable sets.
type envField struct {
	name  string        // TRIAGE_KAFKA_BROKERS
	path  string        // kafka.brokers
	value reflect.Value // the field in the Config, settable
}

// envFields returns the fields of c that environment variables set, in the
// order they are declared: every string, bool, int, float, duration and
// string list reachable through nested structs. Maps and lists of structs
// are skipped.
func envFields(c *Config) []envField {
	var fields []envField
	walkEnv(reflect.ValueOf(c).Elem(), nil, &fields)
	return fields
}

func walkEnv(v reflect.Value, keys []string, fields *[]envField) {
	t := v.Type()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		path := append(keys[:len(keys):len(keys)], key)
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct:
			walkEnv(fv, path, fields)
		case envSettable(fv.Type()):
			*fields = append(*fields, envField{
				name:  EnvPrefix + strings.ToUpper(strings.Join(path, "_")),
				path:  strings.Join(path, "."),
				value: fv,
			})
		}
	}
}

var durationType = reflect.TypeFor[time.Duration]()

func envSettable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	default:
		return false
	}
}

// applyEnv sets every field whose environment variable is set, and returns
// one error per variable whose value does not parse.
func applyEnv(c *Config, env func(string) (string, bool)) error {
	var errs []error
	for _, f := range envFields(c) {
		s, ok := env(f.name)
		if !ok {
			continue
		}
		if err := setField(f.value, s); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s (%s): %w",
				f.name, f.path, err))
		}
	}
	return errors.Join(errs...)
}

// setField parses s into v. Only non-string values are quoted back in
// errors, so a password never ends up in one.
func setField(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration; want Go syntax such as 45s or 1m30s", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean; want true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(x)
	case reflect.Slice:
		v.Set(reflect.ValueOf(splitList(s)))
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

// splitList splits a comma-separated list, trimming spaces and dropping
// empty items: "a, b,,c" is [a b c] and "" is an empty list.
func splitList(s string) []string {
	items := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// secret is a password field and the file it may instead be read from.
type secret struct {
	path     string // yaml path of the struct holding both
	name     string // yaml name of the secret: password or token
	password *string
	file     *string
}

// secrets returns the password and token fields of c. A test checks that
// every field tagged password or token is listed here.
func (c *Config) secrets() []secret {
	return []secret{
		{"kafka.sasl", "password", &c.Kafka.SASL.Password, &c.Kafka.SASL.PasswordFile},
		{"schema_registry", "password", &c.SchemaRegistry.Password,
			&c.SchemaRegistry.PasswordFile},
		{"http", "token", &c.HTTP.Token, &c.HTTP.TokenFile},
	}
}

// readPasswordFiles reads every password_file that is set into its password,
// trailing newlines trimmed. A password set both directly and by file is an
// error, whichever of the file and the environment set each.
func (c *Config) readPasswordFiles() error {
	var errs []error
	for _, s := range c.secrets() {
		if *s.file == "" {
			continue
		}
		if *s.password != "" {
			errs = append(errs, fmt.Errorf("%[1]s.%[2]s and %[1]s.%[2]s_file "+
				"are both set; want one of them", s.path, s.name))
			continue
		}
		b, err := os.ReadFile(*s.file)
		if err != nil {
			errs = append(errs, fmt.Errorf("unable to read %s.%s_file: %w", s.path, s.name,
				err))
			continue
		}
		*s.password = strings.TrimRight(string(b), "\r\n")
	}
	return errors.Join(errs...)
}
