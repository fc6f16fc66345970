package classify

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// trainedModel returns a calibrated model of the easy task and its test
// examples.
func trainedModel(t testing.TB, cfg Config) (*Model, []Example) {
	t.Helper()
	m := trainSmall(t, easyTask.generate(800, 1, 1), cfg)
	test := easyTask.generate(300, 1, 2)
	if _, err := m.Calibrate(test, 0.97); err != nil {
		t.Fatal(err)
	}
	return m, test
}

// samePredictions fails the test unless a and b predict the same for every
// example, to within tol in confidence.
func samePredictions(t *testing.T, a, b *Model, examples []Example, tol float64) {
	t.Helper()
	for _, e := range examples {
		pa, pb := a.Predict(e.Text), b.Predict(e.Text)
		if pa.Label != pb.Label || pa.OutOfScope != pb.OutOfScope ||
			pa.Confidence-pb.Confidence > tol || pb.Confidence-pa.Confidence > tol {
			t.Fatalf("%q: got %+v after the round trip, want %+v", e.Text, pb, pa)
		}
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	apart := smallConfig()
	apart.Dim = 1
	for _, tt := range []struct {
		name     string
		cfg      Config
		quantize bool
	}{
		{"a folded model", smallConfig(), false},
		{"a model with its members apart", apart, false},
		{"a quantised folded model", smallConfig(), true},
		{"a quantised model with its members apart", apart, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, test := trainedModel(t, tt.cfg)
			if tt.quantize {
				m = m.Quantize()
			}
			path := filepath.Join(t.TempDir(), "model.bin")
			n, err := m.Save(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != n {
				t.Fatalf("Save said %d bytes; the file: %v, %v", n, fi, err)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version() != m.Version() || got.Threshold() != m.Threshold() ||
				got.Temperature() != m.Temperature() || got.Quantized() != tt.quantize ||
				got.Config() != m.Config() {
				t.Errorf("got version %s threshold %v temperature %v quantized %v config %+v, "+
					"want %s %v %v %v %+v", got.Version(), got.Threshold(), got.Temperature(),
					got.Quantized(), got.Config(), m.Version(), m.Threshold(), m.Temperature(),
					tt.quantize, m.Config())
			}
			samePredictions(t, m, got, test, 0)
		})
	}
}

func TestQuantizeKeepsAccuracy(t *testing.T) {
	m, test := trainedModel(t, smallConfig())
	q := m.Quantize()
	if !q.Quantized() || m.Quantized() {
		t.Fatalf("got quantized %v and original %v, want true and false",
			q.Quantized(), m.Quantized())
	}
	if a, b := accuracy(m, test), accuracy(q, test); b < a-0.01 {
		t.Errorf("got accuracy %.3f quantised, %.3f not, want at most 0.01 lost", b, a)
	}
	if q.Version() == m.Version() {
		t.Errorf("quantised and float models share version %s", m.Version())
	}
	// The float table is 4 bytes a value; quantised, 1 byte a value and 4
	// bytes a row for the scale.
	table := 4 * len(m.folded.rows.f)
	if a, b := len(m.Marshal()), len(q.Marshal()); a-b < table/2 {
		t.Errorf("got %d bytes quantised, %d not, want at least %d fewer", b, a, table/2)
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	m, _ := trainedModel(t, smallConfig())
	good := m.Marshal()
	edit := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	resum := func(b []byte) []byte {
		end := len(b) - 4
		binary.LittleEndian.PutUint32(b[end:], crcOf(b[:end]))
		return b
	}
	for _, tt := range []struct {
		name string
		file []byte
		want error
	}{
		{"a flipped bit in the table", edit(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }),
			ErrChecksum},
		{"a flipped bit in the checksum",
			edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }),
			ErrChecksum},
		{"a cut file", good[:len(good)-100], ErrFormat},
		{"an empty file", nil, ErrFormat},
		{"another kind of file", []byte("text,label\nhello,world\n"), ErrFormat},
		{"a newer format", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8:], FormatVersion+1)
			return resum(b)
		}), ErrVersion},
		{"a body that lies about its size", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[16:], 12)
			return resum(b)
		}), ErrFormat},
		{"an impossible dimension", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[headerSize+8:], 1<<40)
			return resum(b)
		}), ErrFormat},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.bin")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLoadOfAMissingFileSaysSo(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nothing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got error %v, want one wrapping os.ErrNotExist", err)
	}
}
