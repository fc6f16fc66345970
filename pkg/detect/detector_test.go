package detect

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestDetectorFlagsALevelShiftAndNotTheNoiseBeforeIt(t *testing.T) {
	s := noisy(t, 6000, 1)
	for i := 5000; i < 6000; i++ {
		s.values[i] += 40 // 8 sd up
		s.anomaly[i] = true
	}
	res := run(New(DefaultConfig()), s, 0, len(s.times))

	first := -1
	falseFlags := 0
	for i, r := range res {
		if r.Flagged && s.anomaly[i] && first < 0 {
			first = i
		}
		if r.Flagged && !s.anomaly[i] {
			falseFlags++
		}
	}
	if first < 0 || first > 5010 {
		t.Errorf("got first flag of the shift at row %d, want within 10 rows of 5000", first)
	}
	if falseFlags > 5000/200 {
		t.Errorf("got %d flags in 5000 rows of plain noise, want at most 25 (0.5%%)",
			falseFlags)
	}
	if r := res[5000]; r.Dir != Up || r.Upper >= s.values[5000] {
		t.Errorf("got direction %v and upper %v at the shift, want up and a band below %v",
			r.Dir, r.Upper, s.values[5000])
	}
}

func TestDetectorLearnsTheDailyCycle(t *testing.T) {
	// Ten days of a daily cycle, then on day 11 the afternoon high is
	// missing: the value stays at its night level from noon to 18:00.
	s := daily(t, 11*288, 2)
	for i := 10*288 + 144; i < 10*288+216; i++ {
		s.values[i] = 20 + (s.values[i] - (50 - 30*math.Cos(2*math.Pi*float64(i%288)/288)))
		s.anomaly[i] = true
	}
	res := run(New(DefaultConfig()), s, 0, len(s.times))

	flagged := false
	for i := 10*288 + 144; i < 10*288+216; i++ {
		flagged = flagged || res[i].Flagged
	}
	if !flagged {
		t.Errorf("got no flag while the afternoon high was missing, want one")
	}
	// From 05:00 to 07:00 the cycle climbs fastest. The level lags it by
	// about 6; the daily profile follows it.
	errSum := 0.0
	for i := 9*288 + 60; i < 9*288+84; i++ {
		errSum += math.Abs(res[i].Expected - (50 - 30*math.Cos(2*math.Pi*float64(i%288)/288)))
	}
	if mean := errSum / 24; mean > 2.5 {
		t.Errorf("got expected values %v off the cycle on average, want at most 2.5", mean)
	}
	// On a normal day (day 10) after the warm-up, flags stay rare.
	n := 0
	for i := 9 * 288; i < 10*288; i++ {
		if res[i].Flagged {
			n++
		}
	}
	if n > 3 {
		t.Errorf("got %d flags on a normal day, want at most 3", n)
	}
}

func TestDetectorWarmUp(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Warmup = 100
	d := New(cfg)
	s := noisy(t, 200, 3)
	s.values[50] = 1e6
	res := run(d, s, 0, 200)
	for i, r := range res[:99] {
		if r.Score != 0 || r.Flagged || r.Warm {
			t.Fatalf("got score %v, flagged %v, warm %v at point %d, want 0, false, false "+
				"during the warm-up", r.Score, r.Flagged, r.Warm, i+1)
		}
	}
	if !res[99].Warm {
		t.Errorf("got warm false at point 100, want true")
	}
}

func TestDetectorHold(t *testing.T) {
	cfg := DefaultConfig()
	s := noisy(t, 3000, 4)
	for i := 2000; i < 3000; i++ {
		s.values[i] += 40
	}
	res := run(New(cfg), s, 0, len(s.times))
	first := -1
	for i, r := range res {
		if r.Flagged {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("got no flag, want one")
	}
	for i := first + 1; i <= first+cfg.Hold && i < len(res); i++ {
		if r := res[i]; r.Score > cfg.HoldFactor {
			t.Fatalf("got score %v at %d points after a flag, want at most the hold "+
				"factor %v", r.Score, i-first, cfg.HoldFactor)
		}
	}
}

func TestDetectorResultsAreBounded(t *testing.T) {
	s := daily(t, 3000, 5)
	for i := 2000; i < 2100; i++ {
		s.values[i] *= 3
	}
	for i, r := range run(New(DefaultConfig()), s, 0, len(s.times)) {
		if !(r.Score >= 0 && r.Score <= 1) {
			t.Fatalf("got score %v at %d, want it in [0, 1]", r.Score, i)
		}
		if !(r.Lower <= r.Expected && r.Expected <= r.Upper) {
			t.Fatalf("got band [%v, %v] around %v at %d, want it to hold the expected value",
				r.Lower, r.Upper, r.Expected, i)
		}
	}
}

func TestDetectorIgnoresValuesThatAreNotNumbers(t *testing.T) {
	d := New(DefaultConfig())
	s := noisy(t, 500, 6)
	run(d, s, 0, 500)
	before, _ := d.MarshalBinary()
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if r := d.Update(s.times[499].Add(time.Minute), v); r != (Result{}) {
			t.Errorf("got %+v for %v, want the zero result", r, v)
		}
	}
	after, _ := d.MarshalBinary()
	if string(before) != string(after) {
		t.Errorf("got a state changed by values that are not numbers, want it unchanged")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("got %v for the default config, want nil", err)
	}
	for _, tt := range []struct {
		name string
		edit func(*Config)
	}{
		{"a negative warm-up", func(c *Config) { c.Warmup = -1 }},
		{"a zero threshold", func(c *Config) { c.Threshold = 0 }},
		{"a threshold above one", func(c *Config) { c.Threshold = 1.5 }},
		{"a negative hold", func(c *Config) { c.Hold = -1 }},
		{"a hold factor above one", func(c *Config) { c.HoldFactor = 2 }},
		{"a novelty that is not a number", func(c *Config) { c.Novelty = math.NaN() }},
		{"a short window of zero", func(c *Config) { c.Short = 0 }},
		{"a short window above the maximum", func(c *Config) { c.Short = MaxShort + 1 }},
		{"a zero level alpha", func(c *Config) { c.LevelAlpha = 0 }},
		{"a long alpha above one", func(c *Config) { c.LongAlpha = 1.1 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
				t.Errorf("got %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{Up: "up", Down: "down", Level: "level"} {
		if got := d.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
