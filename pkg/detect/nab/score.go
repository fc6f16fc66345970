package nab

import (
	"math"
	"sort"
	"time"
)

// Rules of the benchmark that are not part of a profile.
const (
	// ProbationFraction is the share of each series' first rows that is
	// never scored: the detector is learning there.
	ProbationFraction = 0.15
	// ProbationCap is the number of rows above which the probation stops
	// growing: probation is at most ProbationFraction × ProbationCap rows.
	ProbationCap = 5000
)

// Probation returns the number of leading rows of an n-row series that are
// not scored: floor(0.15 × n), at most 750.
func Probation(n int) int {
	return int(math.Min(math.Floor(ProbationFraction*float64(n)),
		ProbationFraction*ProbationCap))
}

// ScaledSigmoid is the weight of a detection at relative position x: x in
// [-1, 0) inside a window (-1 at its first row), x ≥ 0 after its end, in
// units of the window's width. It falls from about 0.987 at the start of a
// window through 0 at its end to -1 far after it; beyond x = 3 it is -1.
func ScaledSigmoid(x float64) float64 {
	if x > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// Scored is one series with a detector's scores, one per row, and the
// labelled windows of the series.
type Scored struct {
	Name    string
	Times   []time.Time
	Scores  []float64
	Windows []Window
}

// point is one scorable row: its anomaly score, the weight a detection
// there adds for a unit cost, and the corpus-wide index of the window it
// lies in (-1 outside every window).
type point struct {
	score  float64
	weight float64
	window int
}

// windowSpan is a window as row indexes of its series, both included.
type windowSpan struct{ left, right int }

// spans maps each window to the rows it covers: from the first row at or
// after its start to the last row at or before its end. Windows that cover
// no row are dropped.
func spans(times []time.Time, ws []Window) []windowSpan {
	var out []windowSpan
	for _, w := range ws {
		l := sort.Search(len(times), func(i int) bool { return !times[i].Before(w.Start) })
		r := sort.Search(len(times), func(i int) bool { return times[i].After(w.End) }) - 1
		if l <= r {
			out = append(out, windowSpan{l, r})
		}
	}
	return out
}

// Row kinds of a weighted series.
const (
	rowProbation = -2
	rowOutside   = -1
)

// weights returns, for each row of a series of n rows, the window index
// (into spans, or rowOutside, or rowProbation) and the weight of a
// detection there, for tp and fp weights of 1: inside a window, the scaled
// sigmoid of the row's position normalised so that the first row weighs 1;
// outside, minus the scaled sigmoid distance past the previous window, or
// -1 before the first window.
func weights(n int, sp []windowSpan) (kind []int, w []float64) {
	kind = make([]int, n)
	w = make([]float64, n)
	maxTP := ScaledSigmoid(-1)
	prob := Probation(n)
	cur, prev := -1, -1
	next := 0
	for i := range n {
		if cur < 0 && next < len(sp) && sp[next].left == i {
			cur = next
			next++
		}
		switch {
		case cur >= 0:
			width := float64(sp[cur].right - sp[cur].left + 1)
			pos := -float64(sp[cur].right-i+1) / width
			w[i] = ScaledSigmoid(pos) / maxTP
			kind[i] = cur
		case prev < 0:
			w[i] = -1
			kind[i] = rowOutside
		default:
			width := float64(sp[prev].right - sp[prev].left + 1)
			past := 3.0 + 1 // a one-row window has no scale: treat as far past
			if width > 1 {
				past = math.Abs(float64(sp[prev].right-i)) / (width - 1)
			}
			w[i] = ScaledSigmoid(past)
			kind[i] = rowOutside
		}
		if i < prob {
			kind[i] = rowProbation
		}
		if cur >= 0 && i == sp[cur].right {
			prev, cur = cur, -1
		}
	}
	return kind, w
}

// FileResult is one series' share of a profile's result at the chosen
// threshold.
type FileResult struct {
	Name    string
	Score   float64 // raw score of this series
	Windows int     // windows with at least one scorable row
	TP      int     // windows detected
	FP      int     // detections outside every window
}

// Result is a detector's result for one profile.
type Result struct {
	Profile    Profile
	Threshold  float64 // detections are rows whose score is ≥ Threshold
	Raw        float64 // best total over the corpus
	Null       float64 // total of the null detector (constant score)
	Perfect    float64 // total of the perfect detector
	Normalized float64 // 100 × (Raw − Null) / (Perfect − Null)
	Files      []FileResult
}

// Score applies the benchmark's rules to a corpus for one profile. Rows of
// the probation are ignored; in a window only the best (earliest) detection
// counts, worth p.TP × its weight, and an undetected window costs p.FN;
// each detection outside windows costs p.FP × its (negative) weight. One
// threshold for the whole corpus is chosen to maximise the total; among
// equal totals the highest threshold wins. Raw is normalised between the
// null detector, which gives every row the same score, and the perfect
// detector, which detects every window at its first row.
func Score(files []Scored, p Profile) Result {
	pts, nWindows, nAll := collect(files, p, nil)
	threshold, raw := sweep(pts, nWindows, p)

	constant := make([][]float64, len(files))
	for i, f := range files {
		constant[i] = make([]float64, len(f.Times))
		for j := range constant[i] {
			constant[i][j] = 0.5
		}
	}
	nullPts, nullWindows, _ := collect(files, p, constant)
	_, null := sweep(nullPts, nullWindows, p)

	res := Result{Profile: p, Threshold: threshold, Raw: raw, Null: null,
		Perfect: p.TP * float64(nAll)}
	if res.Perfect != null {
		res.Normalized = 100 * (raw - null) / (res.Perfect - null)
	}
	for _, f := range files {
		res.Files = append(res.Files, scoreFile(f, p, threshold))
	}
	return res
}

// collect weights the scorable rows of every series; scores, when not nil,
// replace the series' own. It returns the rows, the number of windows with
// a scorable row and the number of windows in all.
func collect(files []Scored, p Profile, scores [][]float64) ([]point, int, int) {
	var pts []point
	base, nAll := 0, 0
	for fi, f := range files {
		s := f.Scores
		if scores != nil {
			s = scores[fi]
		}
		sp := spans(f.Times, f.Windows)
		nAll += len(f.Windows)
		kind, w := weights(len(f.Times), sp)
		for i := range kind {
			switch {
			case kind[i] == rowProbation:
			case kind[i] == rowOutside:
				pts = append(pts, point{s[i], p.FP * w[i], -1})
			default:
				pts = append(pts, point{s[i], p.TP * w[i], base + kind[i]})
			}
		}
		base += len(sp)
	}
	// Windows whose rows all lie in the probation are not scorable.
	seen := make(map[int]bool)
	for _, pt := range pts {
		if pt.window >= 0 {
			seen[pt.window] = true
		}
	}
	// Renumber scorable windows densely.
	ids := make(map[int]int, len(seen))
	for i := range pts {
		if w := pts[i].window; w >= 0 {
			id, ok := ids[w]
			if !ok {
				id = len(ids)
				ids[w] = id
			}
			pts[i].window = id
		}
	}
	return pts, len(seen), nAll
}

// sweep returns the threshold that maximises the total over pts, and that
// total. With no detection the total is -p.FN per window; the returned
// threshold is then +Inf.
func sweep(pts []point, nWindows int, p Profile) (float64, float64) {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].score > pts[j].score })
	best := make([]float64, nWindows)
	for i := range best {
		best[i] = -p.FN
	}
	total := -p.FN * float64(nWindows)
	bestT, bestTotal := math.Inf(1), total
	for i := 0; i < len(pts); {
		j := i
		for ; j < len(pts) && pts[j].score == pts[i].score; j++ {
			pt := pts[j]
			if pt.window < 0 {
				total += pt.weight
			} else if pt.weight > best[pt.window] {
				total += pt.weight - best[pt.window]
				best[pt.window] = pt.weight
			}
		}
		if total > bestTotal {
			bestT, bestTotal = pts[i].score, total
		}
		i = j
	}
	return bestT, bestTotal
}

// scoreFile is one series' share of the total at threshold t.
func scoreFile(f Scored, p Profile, t float64) FileResult {
	sp := spans(f.Times, f.Windows)
	kind, w := weights(len(f.Times), sp)
	fr := FileResult{Name: f.Name}
	best := make([]float64, len(sp))
	scorable := make([]bool, len(sp))
	detected := make([]bool, len(sp))
	for i := range best {
		best[i] = -p.FN
	}
	for i, k := range kind {
		switch {
		case k == rowProbation:
		case k == rowOutside:
			if f.Scores[i] >= t {
				fr.Score += p.FP * w[i]
				fr.FP++
			}
		default:
			scorable[k] = true
			if f.Scores[i] >= t && p.TP*w[i] > best[k] {
				best[k] = p.TP * w[i]
				detected[k] = true
			}
		}
	}
	for k := range best {
		if !scorable[k] {
			continue
		}
		fr.Windows++
		fr.Score += best[k]
		if detected[k] {
			fr.TP++
		}
	}
	return fr
}
