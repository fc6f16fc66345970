package nab

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors of the corpus readers.
var (
	// ErrBadRow is returned when a series row is not "timestamp,value".
	ErrBadRow = errors.New("bad series row")
	// ErrBadTime is returned when a timestamp matches no accepted layout.
	ErrBadTime = errors.New("bad timestamp")
	// ErrNoProfiles is returned when a profiles file defines no profile.
	ErrNoProfiles = errors.New("no profiles")
)

// timeLayouts are the accepted timestamp layouts, tried in order: the
// corpus layout with and without fractional seconds, then RFC 3339.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
}

// ParseTime parses a corpus timestamp ("2006-01-02 15:04:05", optionally
// with fractional seconds, read as UTC) or an RFC 3339 timestamp.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q", ErrBadTime, s)
}

// Series is one univariate series in time order.
type Series struct {
	Name   string // path relative to the corpus root, with forward slashes
	Times  []time.Time
	Values []float64
}

// ReadSeries reads "timestamp,value" rows. A first row whose value is not a
// number is taken as a header and skipped. Rows are kept in file order.
func ReadSeries(r io.Reader) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var s Series
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return s, nil
		}
		if err != nil {
			return s, fmt.Errorf("unable to read line %d: %w", line, err)
		}
		if len(rec) < 2 {
			return s, fmt.Errorf("line %d: %w: want 2 fields, got %d", line, ErrBadRow, len(rec))
		}
		v, verr := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if verr != nil {
			if line == 1 {
				continue
			}
			return s, fmt.Errorf("line %d: %w: value %q", line, ErrBadRow, rec[1])
		}
		t, err := ParseTime(rec[0])
		if err != nil {
			return s, fmt.Errorf("line %d: %w", line, err)
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
	}
}

// ReadCorpus reads every .csv file under dir, in lexical order of their
// relative paths, which become the series names.
func ReadCorpus(dir string) ([]Series, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".csv") {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unable to list %s: %w", dir, err)
	}
	sort.Strings(names)
	out := make([]Series, 0, len(names))
	for _, path := range names {
		s, err := readSeriesFile(path)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return nil, fmt.Errorf("unable to name %s: %w", path, err)
		}
		s.Name = filepath.ToSlash(rel)
		out = append(out, s)
	}
	return out, nil
}

func readSeriesFile(path string) (Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return Series{}, fmt.Errorf("unable to open series: %w", err)
	}
	defer f.Close()
	s, err := ReadSeries(f)
	if err != nil {
		return Series{}, fmt.Errorf("unable to read series %s: %w", path, err)
	}
	return s, nil
}

// Window is one labelled anomaly window, both ends included.
type Window struct {
	Start, End time.Time
}

// ReadWindows reads a windows file: a JSON object from series name to a
// list of [start, end] timestamp pairs.
func ReadWindows(path string) (map[string][]Window, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read windows: %w", err)
	}
	var raw map[string][][]string
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("unable to parse windows %s: %w", path, err)
	}
	out := make(map[string][]Window, len(raw))
	for name, pairs := range raw {
		ws := make([]Window, 0, len(pairs))
		for _, p := range pairs {
			if len(p) != 2 {
				return nil, fmt.Errorf("windows of %s: want [start, end] pairs, got %d values",
					name, len(p))
			}
			start, err := ParseTime(p[0])
			if err != nil {
				return nil, fmt.Errorf("windows of %s: %w", name, err)
			}
			end, err := ParseTime(p[1])
			if err != nil {
				return nil, fmt.Errorf("windows of %s: %w", name, err)
			}
			ws = append(ws, Window{Start: start, End: end})
		}
		sort.Slice(ws, func(i, j int) bool { return ws[i].Start.Before(ws[j].Start) })
		out[name] = ws
	}
	return out, nil
}

// Profile is a cost profile: the weights of a true positive, a false
// negative (a missed window) and a false positive.
type Profile struct {
	Name string
	TP   float64
	FN   float64
	FP   float64
}

// ReadProfiles reads a profiles file: a JSON object from profile name to
// {"CostMatrix": {"tpWeight", "fnWeight", "fpWeight", ...}}. Profiles are
// returned with "standard" first, then sorted by name.
func ReadProfiles(path string) ([]Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read profiles: %w", err)
	}
	var raw map[string]struct {
		CostMatrix struct {
			TP float64 `json:"tpWeight"`
			FN float64 `json:"fnWeight"`
			FP float64 `json:"fpWeight"`
		}
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("unable to parse profiles %s: %w", path, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoProfiles)
	}
	out := make([]Profile, 0, len(raw))
	for name, p := range raw {
		out = append(out, Profile{Name: name, TP: p.CostMatrix.TP, FN: p.CostMatrix.FN,
			FP: p.CostMatrix.FP})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "standard") != (out[j].Name == "standard") {
			return out[i].Name == "standard"
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
