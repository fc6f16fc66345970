package classify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"
)

// The model file is, in little-endian byte order:
//
//	magic     8 bytes "TRIAGECL"
//	version   uint32, FormatVersion
//	flags     uint32, bit 0: the tables are quantised; bit 1: the ensemble
//	          is folded into one table
//	length    uint64, the number of bytes of the body
//	body      length bytes, see encodeBody
//	checksum  uint32, CRC-32C of everything before it
//
// Every array in the body starts at a multiple of 8 bytes from the start of
// the file, so that a little-endian machine can use the arrays of a file
// read into memory in place.

// FormatVersion is the version of the model file format this package writes
// and the only one it reads.
const FormatVersion = 1

const (
	headerSize    = 24
	flagQuantized = 1
	flagFolded    = 2
	maxLabels     = 1 << 16
	maxStringLen  = 1 << 16
)

var (
	fileMagic   = [8]byte{'T', 'R', 'I', 'A', 'G', 'E', 'C', 'L'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
	ecmaTable   = crc64.MakeTable(crc64.ECMA)
	littleEndia = isLittleEndian()
)

func isLittleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// Save writes m to path through a temporary file in the same directory and
// a rename, so that a reader never sees half a model. It returns the number
// of bytes written.
func (m *Model) Save(path string) (int64, error) {
	b := m.Marshal()
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".model-*")
	if err != nil {
		return 0, fmt.Errorf("unable to save model: %w", err)
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("unable to save model: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("unable to save model: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return 0, fmt.Errorf("unable to save model: %w", err)
	}
	return int64(len(b)), nil
}

// Marshal returns the model file of m.
func (m *Model) Marshal() []byte {
	var w writer
	w.buf = make([]byte, headerSize, headerSize+m.sizeHint())
	copy(w.buf, fileMagic[:])
	binary.LittleEndian.PutUint32(w.buf[8:], FormatVersion)
	var flags uint32
	if m.Quantized() {
		flags |= flagQuantized
	}
	if m.folded != nil {
		flags |= flagFolded
	}
	binary.LittleEndian.PutUint32(w.buf[12:], flags)
	m.encodeBody(&w, m.version)
	binary.LittleEndian.PutUint64(w.buf[16:], uint64(len(w.buf)-headerSize))
	return binary.LittleEndian.AppendUint32(w.buf, crcOf(w.buf))
}

// crcOf returns the checksum of a model file's bytes before the checksum.
func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func (m *Model) sizeHint() int {
	n := len(m.weights)*4 + len(m.seen)*8 + 4096
	size := func(t *table) int { return len(t.f)*4 + len(t.q) + len(t.qs)*4 + 64 }
	if m.folded != nil {
		n += size(&m.folded.rows) + len(m.folded.bias)*4
	}
	for _, mb := range m.members {
		n += size(&mb.in) + len(mb.out)*4 + len(mb.bias)*4 + 64
	}
	return n
}

// encodeBody appends the body of the model file: the hyperparameters, the
// calibration, the version, the labels, then the arrays.
func (m *Model) encodeBody(w *writer, version string) {
	c := m.cfg
	for _, v := range []int{c.Buckets, c.Dim, c.Epochs, c.WordNgrams, c.MinN, c.MaxN, c.Models,
		c.LeadWords} {
		w.u64(uint64(int64(v)))
	}
	for _, v := range []float64{c.LR, c.CharWeight, c.IDFPower, c.Smoothing,
		m.temperature, m.threshold, m.minKnown} {
		w.u64(math.Float64bits(v))
	}
	w.u64(c.Seed)
	w.str(version)
	w.u64(uint64(len(m.labels)))
	for _, l := range m.labels {
		w.str(l)
	}
	w.u64s(m.seen)
	w.f32s(m.weights)
	if m.folded != nil {
		w.table(&m.folded.rows)
		w.f32s(m.folded.bias)
	}
	for _, mb := range m.members {
		w.table(&mb.in)
		w.f32s(mb.out)
		w.f32s(mb.bias)
	}
}

// digestVersion names the model after a hash of its file body, less the
// version itself.
func (m *Model) digestVersion() string {
	var w writer
	w.buf = make([]byte, 0, m.sizeHint())
	m.encodeBody(&w, "")
	return strconv.FormatUint(crc64.Checksum(w.buf, ecmaTable), 16)
}

// Load reads the model file at path in one read. It returns an error
// wrapping ErrFormat, ErrVersion or ErrChecksum when the file is not a
// model this build can use.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read model: %w", err)
	}
	m, err := Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("unable to load model %s: %w", path, err)
	}
	return m, nil
}

// Unmarshal decodes a model file. On a little-endian machine the arrays of
// the model share memory with b, which the caller must not change after.
func Unmarshal(b []byte) (*Model, error) {
	if len(b) < headerSize+4 || !bytes.Equal(b[:8], fileMagic[:]) {
		return nil, fmt.Errorf("%w: no model magic at the start", ErrFormat)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != FormatVersion {
		return nil, fmt.Errorf("%w: the file is format %d, this build reads %d",
			ErrVersion, v, FormatVersion)
	}
	flags := binary.LittleEndian.Uint32(b[12:])
	length := binary.LittleEndian.Uint64(b[16:])
	if length != uint64(len(b)-headerSize-4) {
		return nil, fmt.Errorf("%w: the header says %d bytes of body, the file has %d",
			ErrFormat, length, len(b)-headerSize-4)
	}
	end := len(b) - 4
	if got, want := crcOf(b[:end]), binary.LittleEndian.Uint32(b[end:]); got != want {
		return nil, fmt.Errorf("%w: computed %08x, stored %08x", ErrChecksum, got, want)
	}
	r := reader{buf: b[:end], off: headerSize}
	m, err := decodeBody(&r, flags&flagQuantized != 0, flags&flagFolded != 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if r.off != end {
		return nil, fmt.Errorf("%w: %d bytes left after the model", ErrFormat, end-r.off)
	}
	return m, nil
}

func decodeBody(r *reader, quantized, folded bool) (*Model, error) {
	var ints [8]int
	for i := range ints {
		ints[i] = int(int64(r.u64()))
	}
	var floats [7]float64
	for i := range floats {
		floats[i] = math.Float64frombits(r.u64())
	}
	c := Config{
		Buckets: ints[0], Dim: ints[1], Epochs: ints[2], WordNgrams: ints[3],
		MinN: ints[4], MaxN: ints[5], Models: ints[6], LeadWords: ints[7],
		LR: floats[0], CharWeight: floats[1], IDFPower: floats[2], Smoothing: floats[3],
		Seed: r.u64(), Threads: 1,
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Threads = 0
	version := r.str()
	n := r.u64()
	if r.err == nil && (n < 2 || n > maxLabels) {
		return nil, fmt.Errorf("%d labels", n)
	}
	labels := make([]string, 0, min(n, maxLabels))
	for range n {
		if r.err != nil {
			break
		}
		labels = append(labels, r.str())
	}
	m := newModel(c, labels)
	m.temperature, m.threshold, m.minKnown = floats[4], floats[5], floats[6]
	m.version = version
	m.seen = r.u64s(seenBits / 64)
	m.weights = r.f32s(c.Buckets)
	k := len(labels)
	if folded {
		m.folded = &compiled{rows: r.table(c.Buckets, (k+7)&^7, quantized), bias: r.f32s(k)}
	} else {
		m.members = make([]member, c.Models)
		for i := range m.members {
			mb := &m.members[i]
			mb.in = r.table(c.Buckets, c.Dim, quantized)
			mb.out = r.f32s(k * c.Dim)
			mb.bias = r.f32s(k)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if !(m.temperature > 0) || math.IsInf(m.temperature, 0) {
		return nil, fmt.Errorf("temperature %v", m.temperature)
	}
	return m, nil
}

// writer appends the fields of the body.
type writer struct{ buf []byte }

func (w *writer) u64(v uint64) { w.buf = binary.LittleEndian.AppendUint64(w.buf, v) }

func (w *writer) str(s string) {
	w.u64(uint64(len(s)))
	w.buf = append(w.buf, s...)
	w.pad()
}

// pad aligns the end of the buffer to 8 bytes.
func (w *writer) pad() {
	for len(w.buf)%8 != 0 {
		w.buf = append(w.buf, 0)
	}
}

func (w *writer) u64s(v []uint64) {
	w.u64(uint64(len(v)))
	for _, x := range v {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, x)
	}
}

func (w *writer) f32s(v []float32) {
	w.u64(uint64(len(v)))
	for _, x := range v {
		w.buf = binary.LittleEndian.AppendUint32(w.buf, math.Float32bits(x))
	}
	w.pad()
}

func (w *writer) i8s(v []int8) {
	w.u64(uint64(len(v)))
	for _, x := range v {
		w.buf = append(w.buf, byte(x))
	}
	w.pad()
}

func (w *writer) table(t *table) {
	if t.q != nil {
		w.i8s(t.q)
		w.f32s(t.qs)
		return
	}
	w.f32s(t.f)
}

// reader takes the fields of the body in order. The first error sticks:
// later calls return zero values, and err says what went wrong.
type reader struct {
	buf []byte
	off int
	err error
}

var errShort = errors.New("the file ends inside a field")

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.err = errShort
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

func (r *reader) skipPad() {
	if rem := r.off % 8; rem != 0 {
		r.take(8 - rem)
	}
}

func (r *reader) u64() uint64 {
	b := r.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *reader) str() string {
	n := r.u64()
	if n > maxStringLen {
		r.fail(fmt.Errorf("a string of %d bytes", n))
		return ""
	}
	s := string(r.take(int(n)))
	r.skipPad()
	return s
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// count reads the length of an array and checks it is want.
func (r *reader) count(want int, what string) bool {
	n := r.u64()
	if r.err == nil && n != uint64(want) {
		r.fail(fmt.Errorf("%s array of %d elements, want %d", what, n, want))
	}
	return r.err == nil
}

func (r *reader) u64s(want int) []uint64 {
	if !r.count(want, "uint64") {
		return nil
	}
	b := r.take(8 * want)
	out := make([]uint64, want)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}

func (r *reader) f32s(want int) []float32 {
	if !r.count(want, "float32") {
		return nil
	}
	b := r.take(4 * want)
	r.skipPad()
	if b == nil || want == 0 {
		return make([]float32, want)
	}
	if littleEndia && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), want)
	}
	out := make([]float32, want)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func (r *reader) i8s(want int) []int8 {
	if !r.count(want, "int8") {
		return nil
	}
	b := r.take(want)
	r.skipPad()
	if b == nil || want == 0 {
		return make([]int8, want)
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), want)
}

func (r *reader) table(rows, width int, quantized bool) table {
	t := table{width: width}
	if quantized {
		t.q = r.i8s(rows * width)
		t.qs = r.f32s(rows)
	} else {
		t.f = r.f32s(rows * width)
	}
	return t
}

// WriteTo writes the model file of m to w.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(m.Marshal())
	return int64(n), err
}
