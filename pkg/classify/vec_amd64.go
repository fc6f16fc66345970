package classify

// The kernels of vec_amd64.s. Each takes raw pointers and trusts its
// caller, in vec.go, to have checked lengths and indexes.

//go:noescape
func axpy8(dst, src *float32, n int, a float32)

//go:noescape
func dot8(a, b *float32, n int) float32

//go:noescape
func gatherRegs(h, table *float32, feats *uint32, w *float32, nf, stride, nv int)

//go:noescape
func gatherWeighted8(h, table, weights *float32, feats *uint32, nf, stride, nv int) float32

//go:noescape
func gatherWeightedInt8x8(h *float32, q *int8, qs, weights *float32, feats *uint32, nf, stride,
	nv int) float32

//go:noescape
func scatter8(table *float32, feats *uint32, w *float32, grad *float32, nf, dim int, a float32)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv() (lo, hi uint32)

// haveAVX2 is true when the processor and the operating system support
// AVX2 and FMA, which the kernels use.
var haveAVX2 = detectAVX2()

func detectAVX2() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 {
		return false
	}
	if lo, _ := xgetbv(); lo&6 != 6 { // the OS saves XMM and YMM state
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}
