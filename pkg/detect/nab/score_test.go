package nab

import (
	"math"
	"testing"
	"time"
)

var standard = Profile{Name: "standard", TP: 1, FN: 1, FP: 0.11}

// rows returns n timestamps one minute apart.
func rows(n int) []time.Time {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]time.Time, n)
	for i := range out {
		out[i] = t0.Add(time.Duration(i) * time.Minute)
	}
	return out
}

// window returns the window from row l to row r of times.
func window(times []time.Time, l, r int) Window {
	return Window{Start: times[l], End: times[r]}
}

// scores returns n zero scores with ones at the given rows.
func scores(n int, ones ...int) []float64 {
	s := make([]float64, n)
	for _, i := range ones {
		s[i] = 1
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestProbation(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{100, 15}, {4032, 604}, {1624, 243}, {5000, 750}, {22695, 750}, {6, 0},
	} {
		if got := Probation(tt.n); got != tt.want {
			t.Errorf("Probation(%d): got %d, want %d", tt.n, got, tt.want)
		}
	}
}

func TestScaledSigmoid(t *testing.T) {
	// 2/(1+e^(5x)) - 1 by hand at a few points.
	for _, tt := range []struct{ x, want float64 }{
		{-1, 2/(1+math.Exp(-5)) - 1},
		{-0.5, 2/(1+math.Exp(-2.5)) - 1},
		{0, 0},
		{1, 2/(1+math.Exp(5)) - 1},
		{3, 2/(1+math.Exp(15)) - 1},
		{3.01, -1},
	} {
		if got := ScaledSigmoid(tt.x); !near(got, tt.want) {
			t.Errorf("ScaledSigmoid(%v): got %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestScoreOneSeries(t *testing.T) {
	// 20 rows: probation of 3 rows, one window over rows 10..14 (width 5).
	times := rows(20)
	ws := []Window{window(times, 10, 14)}
	maxTP := 2/(1+math.Exp(-5)) - 1

	t.Run("a detection inside the window is weighted by its position", func(t *testing.T) {
		// Row 12: position -(14-12+1)/5 = -0.6.
		res := Score([]Scored{{Times: times, Scores: scores(20, 12), Windows: ws}}, standard)
		want := (2/(1+math.Exp(-3)) - 1) / maxTP
		if !near(res.Raw, want) {
			t.Errorf("got raw %v, want %v", res.Raw, want)
		}
		if res.Threshold != 1 {
			t.Errorf("got threshold %v, want 1", res.Threshold)
		}
	})

	t.Run("false positives before and after the window cost differently", func(t *testing.T) {
		// Row 5 is before any window: -1 × 0.11. Row 16 is 2 rows past the
		// window's end: position 2/(5-1) = 0.5, weight 2/(1+e^2.5)-1.
		res := Score([]Scored{{Times: times, Scores: scores(20, 5, 12, 16), Windows: ws}},
			standard)
		tp := (2/(1+math.Exp(-3)) - 1) / maxTP
		fpAfter := 2/(1+math.Exp(2.5)) - 1
		want := tp - 0.11 + 0.11*fpAfter
		if !near(res.Raw, want) {
			t.Errorf("got raw %v, want %v", res.Raw, want)
		}
		// Null: a constant score either detects nothing (-1) or every
		// scorable row: the window's first row (+1), rows 3..9 before it
		// (7 × -0.11) and rows 15..19 after it, 1/4 to 5/4 widths past.
		after := 0.0
		for k := 1; k <= 5; k++ {
			after += 2/(1+math.Exp(5*float64(k)/4)) - 1
		}
		null := math.Max(-1, 1-0.11*7+0.11*after)
		if !near(res.Null, null) || res.Perfect != 1 {
			t.Errorf("got null %v and perfect %v, want %v and 1", res.Null, res.Perfect, null)
		}
		if wantN := 100 * (want - null) / (1 - null); !near(res.Normalized, wantN) {
			t.Errorf("got normalized %v, want %v", res.Normalized, wantN)
		}
		f := res.Files[0]
		if f.TP != 1 || f.FP != 2 || f.Windows != 1 || !near(f.Score, want) {
			t.Errorf("got file result %+v, want 1 TP, 2 FP, 1 window, score %v", f, want)
		}
	})

	t.Run("only the earliest detection in a window counts", func(t *testing.T) {
		res := Score([]Scored{{Times: times, Scores: scores(20, 10, 11, 13), Windows: ws}},
			standard)
		if !near(res.Raw, 1) {
			t.Errorf("got raw %v, want 1 (row 10 is the window's first row)", res.Raw)
		}
	})

	t.Run("detections in the probation are ignored", func(t *testing.T) {
		res := Score([]Scored{{Times: times, Scores: scores(20, 0, 1, 2, 10), Windows: ws}},
			standard)
		if !near(res.Raw, 1) {
			t.Errorf("got raw %v, want 1", res.Raw)
		}
	})

	t.Run("a detector that finds nothing scores the null score", func(t *testing.T) {
		res := Score([]Scored{{Times: times, Scores: scores(20), Windows: ws}}, standard)
		if res.Raw != res.Null || res.Normalized != 0 {
			t.Errorf("got raw %v normalized %v, want the null %v and 0", res.Raw,
				res.Normalized, res.Null)
		}
	})

	t.Run("a window inside the probation is not scorable", func(t *testing.T) {
		// 100 rows: probation 15; the first window (rows 2..5) lies in it.
		times := rows(100)
		ws := []Window{window(times, 2, 5), window(times, 50, 59)}
		res := Score([]Scored{{Times: times, Scores: scores(100, 50), Windows: ws}}, standard)
		if res.Null != -1 {
			t.Errorf("got null %v, want -1 (one scorable window)", res.Null)
		}
		if res.Perfect != 2 {
			t.Errorf("got perfect %v, want 2 (every labelled window)", res.Perfect)
		}
		if !near(res.Raw, 1) {
			t.Errorf("got raw %v, want 1", res.Raw)
		}
	})
}

func TestScoreSweepsOneThresholdOverTheCorpus(t *testing.T) {
	// Series A detects its window's first row with score 0.6. Series B has a
	// false positive before its window with score 0.55, and detects its
	// window's first row with score 0.5. Thresholds: above 0.6 nothing
	// (-2); at 0.6 A detected (0); at 0.55 one FP (-0.11); at 0.5 both
	// detected (1.89); at 0 every row, with dozens of FPs. The best is 0.5.
	times := rows(40)
	ws := []Window{window(times, 20, 29)}
	a := make([]float64, 40)
	a[20] = 0.6
	b := make([]float64, 40)
	b[10], b[20] = 0.55, 0.5
	files := []Scored{
		{Name: "a", Times: times, Scores: a, Windows: ws},
		{Name: "b", Times: times, Scores: b, Windows: ws},
	}
	res := Score(files, standard)
	if res.Threshold != 0.5 {
		t.Errorf("got threshold %v, want 0.5", res.Threshold)
	}
	if !near(res.Raw, 1.89) {
		t.Errorf("got raw %v, want 1.89", res.Raw)
	}
	if sum := res.Files[0].Score + res.Files[1].Score; !near(sum, res.Raw) {
		t.Errorf("got file scores summing to %v, want the raw %v", sum, res.Raw)
	}

	// With a false positive cost of 3, the FP outweighs B's window: the best
	// is 0.6, A detected (+1) and B missed (-1), total 0.
	costly := Profile{Name: "costly", TP: 1, FN: 1, FP: 3}
	res = Score(files, costly)
	if res.Threshold != 0.6 || !near(res.Raw, 0) {
		t.Errorf("got threshold %v raw %v, want 0.6 and 0", res.Threshold, res.Raw)
	}
}
