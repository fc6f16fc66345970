#include "textflag.h"

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (lo, hi uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, lo+0(FP)
	MOVL DX, hi+4(FP)
	RET

// func axpy8(dst, src *float32, n int, a float32)
// dst[i] += a*src[i] for i < n; n is a multiple of 8.
TEXT ·axpy8(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y0
	SHRQ $3, CX
	JZ axdone
axloop:
	VMOVUPS (SI), Y1
	VFMADD213PS (DI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ axloop
axdone:
	VZEROUPPER
	RET

// func dot8(a, b *float32, n int) float32
// The inner product of a[:n] and b[:n]; n is a multiple of 8.
TEXT ·dot8(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y3, Y3, Y3
	SHRQ $3, CX
	JZ dtsum
	TESTQ $1, CX
	JZ dtpairs
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y1, Y0
	ADDQ $32, DI
	ADDQ $32, SI
	DECQ CX
	JZ dtsum
dtpairs:
	SHRQ $1, CX
dtloop:
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VFMADD231PS (SI), Y1, Y0
	VFMADD231PS 32(SI), Y2, Y3
	ADDQ $64, DI
	ADDQ $64, SI
	DECQ CX
	JNZ dtloop
dtsum:
	VADDPS Y3, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func scatter8(table *float32, feats *uint32, w *float32, grad *float32, nf, dim int, a float32)
// table[feats[i]*dim:][:dim] += a*w[i] * grad[:dim] for i < nf; dim is a
// multiple of 8.
TEXT ·scatter8(SB), NOSPLIT, $0-52
	MOVQ table+0(FP), SI
	MOVQ feats+8(FP), BX
	MOVQ w+16(FP), DX
	MOVQ grad+24(FP), DI
	MOVQ nf+32(FP), R8
	MOVQ dim+40(FP), R9
	VMOVSS a+48(FP), X2
	MOVQ R9, R10
	SHLQ $2, R10
	TESTQ R8, R8
	JZ scdone
scrow:
	MOVL (BX), AX
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R11
	VMULSS (DX), X2, X0
	VBROADCASTSS X0, Y0
	MOVQ DI, R12
	MOVQ R9, CX
	SHRQ $3, CX
sccol:
	VMOVUPS (R12), Y1
	VFMADD213PS (R11), Y0, Y1
	VMOVUPS Y1, (R11)
	ADDQ $32, R11
	ADDQ $32, R12
	DECQ CX
	JNZ sccol
	ADDQ $4, BX
	ADDQ $4, DX
	DECQ R8
	JNZ scrow
scdone:
	VZEROUPPER
	RET

// The register kernels below keep up to 112 columns of the sum in Y2-Y15
// while they walk the rows, and prefetch every cache line of the row eight
// features ahead, so that the loads of many rows are in flight at once.

// func gatherRegs(h, table *float32, feats *uint32, w *float32, nf, stride, nv int)
// h[:8*nv] += w[i] * row feats[i] of table, for i < nf; a row starts every
// stride bytes; 1 <= nv <= 14.
TEXT ·gatherRegs(SB), NOSPLIT, $0-56
	MOVQ table+8(FP), SI
	MOVQ feats+16(FP), BX
	MOVQ w+24(FP), DX
	MOVQ nf+32(FP), R8
	MOVQ stride+40(FP), R10
	MOVQ nv+48(FP), R9
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	XORQ R12, R12 // i
	TESTQ R8, R8
	JZ grstore
grrow:
	LEAQ 8(R12), CX
	CMPQ CX, R8
	JGE grnopf
	MOVL (BX)(CX*4), AX
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R14
	LEAQ -1(R14)(R10*1), R15 // the last byte of the row
grpf:
	PREFETCHT0 (R14)
	ADDQ $64, R14
	CMPQ R14, R15
	JLE grpf
	PREFETCHT0 (R15)
grnopf:
	MOVL (BX)(R12*4), AX
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R11
	VBROADCASTSS (DX)(R12*4), Y0
	VFMADD231PS (R11), Y0, Y2
	CMPQ R9, $2
	JLT grnext
	VFMADD231PS 32(R11), Y0, Y3
	CMPQ R9, $3
	JLT grnext
	VFMADD231PS 64(R11), Y0, Y4
	CMPQ R9, $4
	JLT grnext
	VFMADD231PS 96(R11), Y0, Y5
	CMPQ R9, $5
	JLT grnext
	VFMADD231PS 128(R11), Y0, Y6
	CMPQ R9, $6
	JLT grnext
	VFMADD231PS 160(R11), Y0, Y7
	CMPQ R9, $7
	JLT grnext
	VFMADD231PS 192(R11), Y0, Y8
	CMPQ R9, $8
	JLT grnext
	VFMADD231PS 224(R11), Y0, Y9
	CMPQ R9, $9
	JLT grnext
	VFMADD231PS 256(R11), Y0, Y10
	CMPQ R9, $10
	JLT grnext
	VFMADD231PS 288(R11), Y0, Y11
	CMPQ R9, $11
	JLT grnext
	VFMADD231PS 320(R11), Y0, Y12
	CMPQ R9, $12
	JLT grnext
	VFMADD231PS 352(R11), Y0, Y13
	CMPQ R9, $13
	JLT grnext
	VFMADD231PS 384(R11), Y0, Y14
	CMPQ R9, $14
	JLT grnext
	VFMADD231PS 416(R11), Y0, Y15
grnext:
	INCQ R12
	CMPQ R12, R8
	JLT grrow
grstore:
	MOVQ h+0(FP), DI
	VADDPS (DI), Y2, Y2
	VMOVUPS Y2, (DI)
	CMPQ R9, $2
	JLT grdone
	VADDPS 32(DI), Y3, Y3
	VMOVUPS Y3, 32(DI)
	CMPQ R9, $3
	JLT grdone
	VADDPS 64(DI), Y4, Y4
	VMOVUPS Y4, 64(DI)
	CMPQ R9, $4
	JLT grdone
	VADDPS 96(DI), Y5, Y5
	VMOVUPS Y5, 96(DI)
	CMPQ R9, $5
	JLT grdone
	VADDPS 128(DI), Y6, Y6
	VMOVUPS Y6, 128(DI)
	CMPQ R9, $6
	JLT grdone
	VADDPS 160(DI), Y7, Y7
	VMOVUPS Y7, 160(DI)
	CMPQ R9, $7
	JLT grdone
	VADDPS 192(DI), Y8, Y8
	VMOVUPS Y8, 192(DI)
	CMPQ R9, $8
	JLT grdone
	VADDPS 224(DI), Y9, Y9
	VMOVUPS Y9, 224(DI)
	CMPQ R9, $9
	JLT grdone
	VADDPS 256(DI), Y10, Y10
	VMOVUPS Y10, 256(DI)
	CMPQ R9, $10
	JLT grdone
	VADDPS 288(DI), Y11, Y11
	VMOVUPS Y11, 288(DI)
	CMPQ R9, $11
	JLT grdone
	VADDPS 320(DI), Y12, Y12
	VMOVUPS Y12, 320(DI)
	CMPQ R9, $12
	JLT grdone
	VADDPS 352(DI), Y13, Y13
	VMOVUPS Y13, 352(DI)
	CMPQ R9, $13
	JLT grdone
	VADDPS 384(DI), Y14, Y14
	VMOVUPS Y14, 384(DI)
	CMPQ R9, $14
	JLT grdone
	VADDPS 416(DI), Y15, Y15
	VMOVUPS Y15, 416(DI)
grdone:
	VZEROUPPER
	RET

// The weighted kernels below serve predictions: they take the weight of
// each row from a table of bucket weights, so that no per-feature weights
// need computing, and they return the sum of the weights, the norm of the
// text's features.

// func gatherWeighted8(h, table, weights *float32, feats *uint32, nf, stride, nv int) float32
// h[:8*nv] += weights[f] * row f of table, for f in feats[:nf], and the sum
// of weights[f] is returned; a row starts every stride bytes;
// 1 <= nv <= 13.
TEXT ·gatherWeighted8(SB), NOSPLIT, $0-60
	MOVQ table+8(FP), SI
	MOVQ weights+16(FP), R13
	MOVQ feats+24(FP), BX
	MOVQ nf+32(FP), R8
	MOVQ stride+40(FP), R10
	MOVQ nv+48(FP), R9
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS X15, X15, X15 // the sum of the weights
	XORQ R12, R12
	TESTQ R8, R8
	JZ gatherWeightedstore
gatherWeightedrow:
	LEAQ 8(R12), CX
	CMPQ CX, R8
	JGE gatherWeightednopf
	MOVL (BX)(CX*4), AX
	PREFETCHT0 (R13)(AX*4)
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R14
	LEAQ -1(R14)(R10*1), R11 // the last byte of the row
gatherWeightedpf:
	PREFETCHT0 (R14)
	ADDQ $64, R14
	CMPQ R14, R11
	JLE gatherWeightedpf
	PREFETCHT0 (R11)
gatherWeightednopf:
	MOVL (BX)(R12*4), AX
	VMOVSS (R13)(AX*4), X0
	VADDSS X0, X15, X15
	VBROADCASTSS X0, Y0
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R11
	VFMADD231PS 0(R11), Y0, Y2
	CMPQ R9, $2
	JLT gatherWeightednext
	VFMADD231PS 32(R11), Y0, Y3
	CMPQ R9, $3
	JLT gatherWeightednext
	VFMADD231PS 64(R11), Y0, Y4
	CMPQ R9, $4
	JLT gatherWeightednext
	VFMADD231PS 96(R11), Y0, Y5
	CMPQ R9, $5
	JLT gatherWeightednext
	VFMADD231PS 128(R11), Y0, Y6
	CMPQ R9, $6
	JLT gatherWeightednext
	VFMADD231PS 160(R11), Y0, Y7
	CMPQ R9, $7
	JLT gatherWeightednext
	VFMADD231PS 192(R11), Y0, Y8
	CMPQ R9, $8
	JLT gatherWeightednext
	VFMADD231PS 224(R11), Y0, Y9
	CMPQ R9, $9
	JLT gatherWeightednext
	VFMADD231PS 256(R11), Y0, Y10
	CMPQ R9, $10
	JLT gatherWeightednext
	VFMADD231PS 288(R11), Y0, Y11
	CMPQ R9, $11
	JLT gatherWeightednext
	VFMADD231PS 320(R11), Y0, Y12
	CMPQ R9, $12
	JLT gatherWeightednext
	VFMADD231PS 352(R11), Y0, Y13
	CMPQ R9, $13
	JLT gatherWeightednext
	VFMADD231PS 384(R11), Y0, Y14
gatherWeightednext:
	INCQ R12
	CMPQ R12, R8
	JLT gatherWeightedrow
gatherWeightedstore:
	MOVSS X15, ret+56(FP)
	MOVQ h+0(FP), DI
	VADDPS 0(DI), Y2, Y2
	VMOVUPS Y2, 0(DI)
	CMPQ R9, $2
	JLT gatherWeighteddone
	VADDPS 32(DI), Y3, Y3
	VMOVUPS Y3, 32(DI)
	CMPQ R9, $3
	JLT gatherWeighteddone
	VADDPS 64(DI), Y4, Y4
	VMOVUPS Y4, 64(DI)
	CMPQ R9, $4
	JLT gatherWeighteddone
	VADDPS 96(DI), Y5, Y5
	VMOVUPS Y5, 96(DI)
	CMPQ R9, $5
	JLT gatherWeighteddone
	VADDPS 128(DI), Y6, Y6
	VMOVUPS Y6, 128(DI)
	CMPQ R9, $6
	JLT gatherWeighteddone
	VADDPS 160(DI), Y7, Y7
	VMOVUPS Y7, 160(DI)
	CMPQ R9, $7
	JLT gatherWeighteddone
	VADDPS 192(DI), Y8, Y8
	VMOVUPS Y8, 192(DI)
	CMPQ R9, $8
	JLT gatherWeighteddone
	VADDPS 224(DI), Y9, Y9
	VMOVUPS Y9, 224(DI)
	CMPQ R9, $9
	JLT gatherWeighteddone
	VADDPS 256(DI), Y10, Y10
	VMOVUPS Y10, 256(DI)
	CMPQ R9, $10
	JLT gatherWeighteddone
	VADDPS 288(DI), Y11, Y11
	VMOVUPS Y11, 288(DI)
	CMPQ R9, $11
	JLT gatherWeighteddone
	VADDPS 320(DI), Y12, Y12
	VMOVUPS Y12, 320(DI)
	CMPQ R9, $12
	JLT gatherWeighteddone
	VADDPS 352(DI), Y13, Y13
	VMOVUPS Y13, 352(DI)
	CMPQ R9, $13
	JLT gatherWeighteddone
	VADDPS 384(DI), Y14, Y14
	VMOVUPS Y14, 384(DI)
gatherWeighteddone:
	VZEROUPPER
	RET

// func gatherWeightedInt8x8(h *float32, q *int8, qs, weights *float32, feats *uint32, nf, stride, nv int) float32
// h[:8*nv] += weights[f]*qs[f] * row f of q, for f in feats[:nf], and the
// sum of weights[f] is returned; a row starts every stride bytes;
// 1 <= nv <= 13.
TEXT ·gatherWeightedInt8x8(SB), NOSPLIT, $0-68
	MOVQ q+8(FP), SI
	MOVQ qs+16(FP), R15
	MOVQ weights+24(FP), R13
	MOVQ feats+32(FP), BX
	MOVQ nf+40(FP), R8
	MOVQ stride+48(FP), R10
	MOVQ nv+56(FP), R9
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS X15, X15, X15 // the sum of the weights
	XORQ R12, R12
	TESTQ R8, R8
	JZ gatherWeightedInt8store
gatherWeightedInt8row:
	LEAQ 8(R12), CX
	CMPQ CX, R8
	JGE gatherWeightedInt8nopf
	MOVL (BX)(CX*4), AX
	PREFETCHT0 (R13)(AX*4)
	PREFETCHT0 (R15)(AX*4)
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R14
	LEAQ -1(R14)(R10*1), R11 // the last byte of the row
gatherWeightedInt8pf:
	PREFETCHT0 (R14)
	ADDQ $64, R14
	CMPQ R14, R11
	JLE gatherWeightedInt8pf
	PREFETCHT0 (R11)
gatherWeightedInt8nopf:
	MOVL (BX)(R12*4), AX
	VMOVSS (R13)(AX*4), X0
	VADDSS X0, X15, X15
	VMULSS (R15)(AX*4), X0, X0
	VBROADCASTSS X0, Y0
	IMULQ R10, AX
	LEAQ (SI)(AX*1), R11
	VPMOVSXBD 0(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y2
	CMPQ R9, $2
	JLT gatherWeightedInt8next
	VPMOVSXBD 8(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y3
	CMPQ R9, $3
	JLT gatherWeightedInt8next
	VPMOVSXBD 16(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y4
	CMPQ R9, $4
	JLT gatherWeightedInt8next
	VPMOVSXBD 24(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y5
	CMPQ R9, $5
	JLT gatherWeightedInt8next
	VPMOVSXBD 32(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y6
	CMPQ R9, $6
	JLT gatherWeightedInt8next
	VPMOVSXBD 40(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y7
	CMPQ R9, $7
	JLT gatherWeightedInt8next
	VPMOVSXBD 48(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y8
	CMPQ R9, $8
	JLT gatherWeightedInt8next
	VPMOVSXBD 56(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y9
	CMPQ R9, $9
	JLT gatherWeightedInt8next
	VPMOVSXBD 64(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y10
	CMPQ R9, $10
	JLT gatherWeightedInt8next
	VPMOVSXBD 72(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y11
	CMPQ R9, $11
	JLT gatherWeightedInt8next
	VPMOVSXBD 80(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y12
	CMPQ R9, $12
	JLT gatherWeightedInt8next
	VPMOVSXBD 88(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y13
	CMPQ R9, $13
	JLT gatherWeightedInt8next
	VPMOVSXBD 96(R11), Y1
	VCVTDQ2PS Y1, Y1
	VFMADD231PS Y1, Y0, Y14
gatherWeightedInt8next:
	INCQ R12
	CMPQ R12, R8
	JLT gatherWeightedInt8row
gatherWeightedInt8store:
	MOVSS X15, ret+64(FP)
	MOVQ h+0(FP), DI
	VADDPS 0(DI), Y2, Y2
	VMOVUPS Y2, 0(DI)
	CMPQ R9, $2
	JLT gatherWeightedInt8done
	VADDPS 32(DI), Y3, Y3
	VMOVUPS Y3, 32(DI)
	CMPQ R9, $3
	JLT gatherWeightedInt8done
	VADDPS 64(DI), Y4, Y4
	VMOVUPS Y4, 64(DI)
	CMPQ R9, $4
	JLT gatherWeightedInt8done
	VADDPS 96(DI), Y5, Y5
	VMOVUPS Y5, 96(DI)
	CMPQ R9, $5
	JLT gatherWeightedInt8done
	VADDPS 128(DI), Y6, Y6
	VMOVUPS Y6, 128(DI)
	CMPQ R9, $6
	JLT gatherWeightedInt8done
	VADDPS 160(DI), Y7, Y7
	VMOVUPS Y7, 160(DI)
	CMPQ R9, $7
	JLT gatherWeightedInt8done
	VADDPS 192(DI), Y8, Y8
	VMOVUPS Y8, 192(DI)
	CMPQ R9, $8
	JLT gatherWeightedInt8done
	VADDPS 224(DI), Y9, Y9
	VMOVUPS Y9, 224(DI)
	CMPQ R9, $9
	JLT gatherWeightedInt8done
	VADDPS 256(DI), Y10, Y10
	VMOVUPS Y10, 256(DI)
	CMPQ R9, $10
	JLT gatherWeightedInt8done
	VADDPS 288(DI), Y11, Y11
	VMOVUPS Y11, 288(DI)
	CMPQ R9, $11
	JLT gatherWeightedInt8done
	VADDPS 320(DI), Y12, Y12
	VMOVUPS Y12, 320(DI)
	CMPQ R9, $12
	JLT gatherWeightedInt8done
	VADDPS 352(DI), Y13, Y13
	VMOVUPS Y13, 352(DI)
	CMPQ R9, $13
	JLT gatherWeightedInt8done
	VADDPS 384(DI), Y14, Y14
	VMOVUPS Y14, 384(DI)
gatherWeightedInt8done:
	VZEROUPPER
	RET
