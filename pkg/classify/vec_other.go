//go:build !amd64

package classify

// haveAVX2 is false off amd64: the portable loops of vec.go run instead.
var haveAVX2 = false

func axpy8(dst, src *float32, n int, a float32) { panic("unreachable") }

func dot8(a, b *float32, n int) float32 { panic("unreachable") }

func gatherRegs(h, table *float32, feats *uint32, w *float32, nf, stride, nv int) {
	panic("unreachable")
}

func gatherWeighted8(h, table, weights *float32, feats *uint32, nf, stride, nv int) float32 {
	panic("unreachable")
}

func gatherWeightedInt8x8(h *float32, q *int8, qs, weights *float32, feats *uint32, nf, stride,
	nv int) float32 {
	panic("unreachable")
}

func scatter8(table *float32, feats *uint32, w *float32, grad *float32, nf, dim int, a float32) {
	panic("unreachable")
}
