package nab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadSeries(t *testing.T) {
	t.Run("a header is skipped and both time layouts are read", func(t *testing.T) {
		s, err := ReadSeries(strings.NewReader("timestamp,value\n" +
			"2014-04-01 00:00:00,1.5\n2014-04-01T00:05:00Z,-2\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2014, 4, 1, 0, 5, 0, 0, time.UTC)
		if len(s.Values) != 2 || s.Values[0] != 1.5 || !s.Times[1].Equal(want) {
			t.Errorf("got %v at %v, want [1.5 -2] with the second at %v", s.Values, s.Times,
				want)
		}
	})
	t.Run("a bad value after the first line is an error", func(t *testing.T) {
		_, err := ReadSeries(strings.NewReader("2014-04-01 00:00:00,1\n2014-04-01 00:05:00,x\n"))
		if !errors.Is(err, ErrBadRow) {
			t.Errorf("got %v, want ErrBadRow", err)
		}
	})
	t.Run("a bad timestamp is an error", func(t *testing.T) {
		_, err := ReadSeries(strings.NewReader("yesterday,1\n"))
		if !errors.Is(err, ErrBadTime) {
			t.Errorf("got %v, want ErrBadTime", err)
		}
	})
}

func TestReadCorpusWindowsAndProfiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("data/b/y.csv", "timestamp,value\n2014-04-01 00:00:00,1\n")
	write("data/a/x.csv", "timestamp,value\n2014-04-01 00:00:00,2\n")
	write("data/a/notes.txt", "not a series")
	windows := write("windows.json", `{"a/x.csv": [["2014-04-02 00:00:00.000000",
		"2014-04-03 00:00:00.000000"], ["2014-04-01 00:00:00.000000",
		"2014-04-01 01:00:00.000000"]], "b/y.csv": []}`)
	profiles := write("profiles.json", `{"reward_low_FN_rate": {"CostMatrix":
		{"tpWeight": 1, "fnWeight": 2, "fpWeight": 0.11}}, "standard": {"CostMatrix":
		{"tpWeight": 1, "fnWeight": 1, "fpWeight": 0.11}}}`)

	series, err := ReadCorpus(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Name != "a/x.csv" || series[1].Name != "b/y.csv" {
		t.Errorf("got %d series named %v, want a/x.csv and b/y.csv", len(series), series)
	}
	ws, err := ReadWindows(windows)
	if err != nil {
		t.Fatal(err)
	}
	if w := ws["a/x.csv"]; len(w) != 2 || w[0].Start.Day() != 1 {
		t.Errorf("got windows %v, want two sorted by start", w)
	}
	ps, err := ReadProfiles(profiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "standard" || ps[1].FN != 2 {
		t.Errorf("got profiles %+v, want standard first, then reward_low_FN_rate", ps)
	}
}
