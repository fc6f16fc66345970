package detect

import (
	"errors"
	"math"
	"testing"
)

func TestSnapshotContinuesBitForBit(t *testing.T) {
	s := daily(t, 12*288, 7)
	for i := 11*288 + 100; i < 11*288+150; i++ {
		s.values[i] += 25
	}
	whole := run(New(DefaultConfig()), s, 0, len(s.times))

	for _, split := range []int{1, 149, 2000, 11*288 + 120} {
		first := New(DefaultConfig())
		run(first, s, 0, split)
		snap, err := first.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(snap) != SnapshotSize {
			t.Fatalf("got a snapshot of %d bytes, want %d", len(snap), SnapshotSize)
		}
		var restored Detector // the zero value takes the default config
		if err := restored.UnmarshalBinary(snap); err != nil {
			t.Fatalf("split at %d: got %v, want nil", split, err)
		}
		rest := run(&restored, s, split, len(s.times))
		for i, r := range rest {
			w := whole[split+i]
			if math.Float64bits(r.Score) != math.Float64bits(w.Score) ||
				math.Float64bits(r.Expected) != math.Float64bits(w.Expected) ||
				r.Lower != w.Lower || r.Upper != w.Upper || r.Flagged != w.Flagged ||
				r.Dir != w.Dir || r.Warm != w.Warm {
				t.Fatalf("split at %d: got %+v at row %d, want %+v", split, r, split+i, w)
			}
		}
	}
}

func TestSnapshotErrors(t *testing.T) {
	d := New(DefaultConfig())
	run(d, noisy(t, 300, 8), 0, 300)
	snap, _ := d.MarshalBinary()

	other := DefaultConfig()
	other.LevelAlpha = 0.2
	outputOnly := DefaultConfig()
	outputOnly.Threshold, outputOnly.Hold = 0.6, 10

	bad := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), snap...)) }
	for _, tt := range []struct {
		name string
		cfg  Config
		data []byte
		want error
	}{
		{"a truncated snapshot", DefaultConfig(), snap[:len(snap)-1], ErrSnapshotSize},
		{"an empty snapshot", DefaultConfig(), nil, ErrSnapshotSize},
		{"an unknown version", DefaultConfig(),
			bad(func(b []byte) []byte { b[0] = 99; return b }), ErrSnapshotVersion},
		{"another learning config", other, snap, ErrConfigMismatch},
		{"another output config", outputOnly, snap, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target := New(tt.cfg)
			run(target, noisy(t, 10, 9), 0, 10)
			before, _ := target.MarshalBinary()
			err := target.UnmarshalBinary(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			after, _ := target.MarshalBinary()
			if err != nil && string(before) != string(after) {
				t.Errorf("got a detector changed by a failed restore, want it unchanged")
			}
			if err == nil && target.Points() != d.Points() {
				t.Errorf("got %d points after the restore, want %d", target.Points(), d.Points())
			}
		})
	}
}
