package classify

// The dense loops of training and prediction. On amd64 with AVX2 and FMA
// they run the kernels of vec_amd64.s; elsewhere, and for the lengths the
// kernels do not take, the loops below, written so that the compiler can
// drop the bounds checks.

// maxRegs and maxWeightedRegs are the numbers of 8-float registers the
// gather kernels sum in: a row wider than 8 times that is gathered in
// several passes.
const (
	maxRegs         = 14
	maxWeightedRegs = 13
)

// axpy adds a*src to dst; src must be at least as long as dst.
func axpy(dst, src []float32, a float32) {
	src = src[:len(dst)]
	i := 0
	if n := len(dst) &^ 7; haveAVX2 && n > 0 {
		axpy8(&dst[0], &src[0], n, a)
		i = n
	}
	for ; i+4 <= len(dst); i += 4 {
		d := dst[i : i+4 : i+4]
		s := src[i : i+4 : i+4]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * src[i]
	}
}

// dot returns the inner product of a and b; b must be at least as long as
// a.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	if n := len(a) &^ 7; haveAVX2 && n > 0 {
		s0 = dot8(&a[0], &b[0], n)
		i = n
	}
	for ; i+4 <= len(a); i += 4 {
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// scale multiplies every element of v by a.
func scale(v []float32, a float32) {
	for i := range v {
		v[i] *= a
	}
}

// checkRows panics unless every feature indexes a row of a table of rows
// rows. The kernels read memory by these indexes; the check keeps a bug
// elsewhere from turning into a read out of bounds.
func checkRows(feats []uint32, rows int) {
	for _, f := range feats {
		if int(f) >= rows {
			panic("classify: feature out of the table")
		}
	}
}

// gather adds w[i] times row feats[i] of table to h, for every i; the rows
// are len(h) long.
func gather(h, table []float32, feats []uint32, w []float32) {
	dim := len(h)
	w = w[:len(feats)]
	checkRows(feats, len(table)/max(dim, 1))
	if haveAVX2 && dim%8 == 0 && len(feats) > 0 && dim > 0 {
		for c := 0; c < dim; c += 8 * maxRegs {
			gatherRegs(&h[c], &table[c], &feats[0], &w[0], len(feats), 4*dim,
				min(maxRegs, (dim-c)/8))
		}
		return
	}
	for i, f := range feats {
		row := int(f) * dim
		axpy(h, table[row:row+dim], w[i])
	}
}

// gatherWeighted adds weights[f] times row f of table to h, for every f
// in feats, and returns the sum of those weights; the rows are len(h) long.
func gatherWeighted(h, table, weights []float32, feats []uint32) float32 {
	dim := len(h)
	checkRows(feats, min(len(table)/max(dim, 1), len(weights)))
	if haveAVX2 && dim%8 == 0 && len(feats) > 0 && dim > 0 {
		var sum float32
		for c := 0; c < dim; c += 8 * maxWeightedRegs {
			sum = gatherWeighted8(&h[c], &table[c], &weights[0], &feats[0], len(feats), 4*dim,
				min(maxWeightedRegs, (dim-c)/8))
		}
		return sum
	}
	var sum float32
	for _, f := range feats {
		a := weights[f]
		sum += a
		row := int(f) * dim
		axpy(h, table[row:row+dim], a)
	}
	return sum
}

// gatherWeightedInt8 is gatherWeighted over a table quantised per row:
// row r is q[r*len(h):] times qs[r].
func gatherWeightedInt8(h []float32, q []int8, qs, weights []float32, feats []uint32) float32 {
	dim := len(h)
	checkRows(feats, min(len(q)/max(dim, 1), len(qs), len(weights)))
	if haveAVX2 && dim%8 == 0 && len(feats) > 0 && dim > 0 {
		var sum float32
		for c := 0; c < dim; c += 8 * maxWeightedRegs {
			sum = gatherWeightedInt8x8(&h[c], &q[c], &qs[0], &weights[0], &feats[0], len(feats),
				dim, min(maxWeightedRegs, (dim-c)/8))
		}
		return sum
	}
	var sum float32
	for _, f := range feats {
		sum += weights[f]
		a := qs[f] * weights[f]
		row := q[int(f)*dim : int(f)*dim+dim]
		for j := range h {
			h[j] += a * float32(row[j])
		}
	}
	return sum
}

// scatter adds a*w[i]*g to row feats[i] of table, for every i; the rows are
// len(g) long.
func scatter(table []float32, feats []uint32, w []float32, g []float32, a float32) {
	dim := len(g)
	w = w[:len(feats)]
	checkRows(feats, len(table)/max(dim, 1))
	if haveAVX2 && dim%8 == 0 && len(feats) > 0 && dim > 0 {
		scatter8(&table[0], &feats[0], &w[0], &g[0], len(feats), dim, a)
		return
	}
	for i, f := range feats {
		row := int(f) * dim
		axpy(table[row:row+dim], g, a*w[i])
	}
}
