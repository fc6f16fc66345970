package classify

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The kernels are checked against plain loops at widths below, at and
// above the 112 columns a register pass holds, and at widths they leave to
// the portable code.
var kernelWidths = []int{1, 5, 8, 16, 48, 64, 72, 80, 112, 120, 232}

func randomFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}

func closeTo(a, b []float32, tol float64) int {
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol*(1+math.Abs(float64(b[i]))) {
			return i
		}
	}
	return -1
}

func TestGatherAndScatterMatchPlainLoops(t *testing.T) {
	kernels := haveAVX2
	defer func() { haveAVX2 = kernels }()
	for _, on := range []bool{kernels, false} {
		haveAVX2 = on
		t.Run(map[bool]string{true: "with the kernels", false: "with plain Go"}[on],
			checkKernels)
	}
}

func checkKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const rows = 50
	for _, dim := range kernelWidths {
		tbl := table{width: dim, f: randomFloats(rng, rows*dim)}
		feats := make([]uint32, 37)
		for i := range feats {
			feats[i] = uint32(rng.IntN(rows))
		}
		w := randomFloats(rng, len(feats))

		h := randomFloats(rng, dim)
		want := append([]float32(nil), h...)
		for i, f := range feats {
			for j := range dim {
				want[j] += w[i] * tbl.f[int(f)*dim+j]
			}
		}
		tbl.gather(h, feats, w)
		if i := closeTo(h, want, 1e-5); i >= 0 {
			t.Errorf("width %d: gather column %d: got %v, want %v", dim, i, h[i], want[i])
		}

		weights := randomFloats(rng, rows)
		h = randomFloats(rng, dim)
		want = append([]float32(nil), h...)
		var wantSum float32
		for _, f := range feats {
			wantSum += weights[f]
			for j := range dim {
				want[j] += weights[f] * tbl.f[int(f)*dim+j]
			}
		}
		sum := tbl.gatherWeighted(h, weights, feats)
		if i := closeTo(h, want, 1e-5); i >= 0 {
			t.Errorf("width %d: weighted gather column %d: got %v, want %v", dim, i, h[i], want[i])
		}
		if math.Abs(float64(sum-wantSum)) > 1e-4 {
			t.Errorf("width %d: weighted gather: got sum %v, want %v", dim, sum, wantSum)
		}

		q := tbl.quantize()
		h = make([]float32, dim)
		want = make([]float32, dim)
		for _, f := range feats {
			for j := range dim {
				want[j] += weights[f] * q.qs[f] * float32(q.q[int(f)*dim+j])
			}
		}
		sum = q.gatherWeighted(h, weights, feats)
		if i := closeTo(h, want, 1e-5); i >= 0 {
			t.Errorf("width %d: quantised gather column %d: got %v, want %v", dim, i, h[i], want[i])
		}
		if math.Abs(float64(sum-wantSum)) > 1e-4 {
			t.Errorf("width %d: quantised gather: got sum %v, want %v", dim, sum, wantSum)
		}

		g := randomFloats(rng, dim)
		got := append([]float32(nil), tbl.f...)
		wantT := append([]float32(nil), tbl.f...)
		for i, f := range feats {
			for j := range dim {
				wantT[int(f)*dim+j] += -0.3 * w[i] * g[j]
			}
		}
		scatter(got, feats, w, g, -0.3)
		if i := closeTo(got, wantT, 1e-5); i >= 0 {
			t.Errorf("width %d: scatter element %d: got %v, want %v", dim, i, got[i], wantT[i])
		}

		a, b := randomFloats(rng, dim), randomFloats(rng, dim)
		var d float64
		for j := range dim {
			d += float64(a[j]) * float64(b[j])
		}
		if got := dot(a, b); math.Abs(float64(got)-d) > 1e-4 {
			t.Errorf("width %d: dot got %v, want %v", dim, got, d)
		}
		wantA := append([]float32(nil), a...)
		for j := range dim {
			wantA[j] += 1.5 * b[j]
		}
		axpy(a, b, 1.5)
		if i := closeTo(a, wantA, 1e-6); i >= 0 {
			t.Errorf("width %d: axpy element %d: got %v, want %v", dim, i, a[i], wantA[i])
		}
	}
}

func TestGatherRefusesAFeatureOutOfTheTable(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic for a feature past the last row")
		}
	}()
	tbl := newTable(4, 8)
	tbl.gatherWeighted(make([]float32, 8), make([]float32, 4), []uint32{4})
}

func TestQuantizeRows(t *testing.T) {
	tbl := table{width: 3, f: []float32{0, 0, 0, 1, -0.5, 0.25}}
	q := tbl.quantize()
	if q.qs[0] != 0 || q.q[0] != 0 {
		t.Errorf("zero row: got scale %v values %v, want 0", q.qs[0], q.q[:3])
	}
	if q.qs[1] != 1.0/127 || q.q[3] != 127 || q.q[4] != -64 || q.q[5] != 32 {
		t.Errorf("got scale %v values %v, want 1/127 and [127 -64 32]", q.qs[1], q.q[3:])
	}
}

func TestExpNeg(t *testing.T) {
	for x := -86.0; x <= 0; x += 0.01 {
		if got, want := expNeg(x), math.Exp(x); math.Abs(got-want) > 2e-6*want {
			t.Fatalf("expNeg(%v) = %v, want %v", x, got, want)
		}
	}
	if got := expNeg(-100); got != 0 {
		t.Errorf("expNeg(-100) = %v, want 0", got)
	}
}
