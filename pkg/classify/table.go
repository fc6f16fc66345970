package classify

import "math"

// table is a matrix of rows of width floats, indexed by bucket, stored
// either in float32 or quantised to 8 bits with one scale per row. Exactly
// one of f and q is set.
type table struct {
	width int
	f     []float32 // rows*width, row-major; nil when quantised
	q     []int8    // rows*width, row r is q[r*width:]*qs[r]; nil otherwise
	qs    []float32 // rows: the scale of each quantised row
}

func newTable(rows, width int) table {
	return table{width: width, f: make([]float32, rows*width)}
}

func (t *table) quantized() bool { return t.q != nil }

// row returns row r of a float table.
func (t *table) row(r int) []float32 { return t.f[r*t.width : (r+1)*t.width] }

// gather adds w[i] times row feats[i] of a float table to h, which is
// width long.
func (t *table) gather(h []float32, feats []uint32, w []float32) {
	gather(h, t.f, feats, w)
}

// gatherWeighted adds weights[f] times row f to h, which is width long, for
// every f in feats, and returns the sum of the weights.
func (t *table) gatherWeighted(h, weights []float32, feats []uint32) float32 {
	if t.q != nil {
		return gatherWeightedInt8(h, t.q, t.qs, weights, feats)
	}
	return gatherWeighted(h, t.f, weights, feats)
}

// quantize returns t in 8 bits: row r becomes round(v/s) with
// s = max|v|/127 stored as its scale; an all-zero row has scale 0.
func (t *table) quantize() table {
	if t.q != nil {
		return *t
	}
	rows := len(t.f) / t.width
	out := table{width: t.width, q: make([]int8, len(t.f)), qs: make([]float32, rows)}
	for r := range rows {
		row := t.row(r)
		var top float32
		for _, v := range row {
			top = max(top, float32(math.Abs(float64(v))))
		}
		if top == 0 {
			continue
		}
		s := top / 127
		out.qs[r] = s
		for j, v := range row {
			out.q[r*t.width+j] = int8(math.Round(float64(v / s)))
		}
	}
	return out
}
