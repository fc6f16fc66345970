package codec

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/linkedin/goavro/v2"
)

// This file reads and writes the Avro binary primitives for the direct
// codecs of triage's own schemas (eventdecode.go, recordencode.go). goavro
// is the reference: a byte sequence is accepted here exactly when goavro
// accepts it, and what is written here is what goavro writes for the same
// value. Where goavro is lenient (a varint may run on with continuation
// bytes past the tenth; the byte size after a negative block count is not
// checked) this code is lenient in the same way.

// avroReader reads one Avro binary datum. The first malformation sticks in
// err and empties b, so reads after it return zero values at once and a
// caller checks err only where it would allocate and at the end.
type avroReader struct {
	b   []byte // the bytes not read yet
	err string // what was malformed; "" while all is well
}

func (r *avroReader) fail(what string) {
	if r.err == "" {
		r.err = what
	}
	r.b = nil
}

// long reads a zig-zag varint. Bits past the 64th are dropped, not refused.
func (r *avroReader) long() int64 {
	if len(r.b) > 0 && r.b[0] < 0x80 {
		u := uint64(r.b[0])
		r.b = r.b[1:]
		return int64(u>>1) ^ -int64(u&1)
	}
	return r.longSlow()
}

func (r *avroReader) longSlow() int64 {
	var u uint64
	var shift uint
	for i, c := range r.b {
		u |= uint64(c&0x7f) << shift // a shift of 64 or more gives 0
		if c < 0x80 {
			r.b = r.b[i+1:]
			return int64(u>>1) ^ -int64(u&1)
		}
		shift += 7
	}
	r.fail("a long runs past the end")
	return 0
}

// bytes reads a length-prefixed string or bytes value. The result aliases
// the input.
func (r *avroReader) bytes() []byte {
	n := r.long()
	if n < 0 || n > int64(len(r.b)) {
		r.fail("a string length is negative or beyond the end")
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

// str reads a string as bytes does, and returns it cut from all, the
// datum r started on as a string, instead of copying it.
func (r *avroReader) str(all string) string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	end := len(all) - len(r.b)
	return all[end-len(b) : end]
}

func (r *avroReader) double() float64 {
	if len(r.b) < 8 {
		r.fail("a double runs past the end")
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return f
}

// blockCount reads the item count that starts a block of a map or array,
// and skips the byte size that follows a negative count. It refuses what
// goavro refuses (math.MinInt64, more than goavro.MaxBlockCount) and, before
// anything is allocated for them, counts of items that cannot fit in the
// bytes left when each takes at least minItem bytes: goavro would run out
// of bytes reading them.
func (r *avroReader) blockCount(minItem int) int {
	n := r.long()
	if n < 0 {
		if n == math.MinInt64 {
			r.fail("a block count is the smallest long")
			return 0
		}
		n = -n
		r.long() // the block's size in bytes, which goavro does not check
	}
	if n > goavro.MaxBlockCount || n > int64(len(r.b)/minItem) {
		r.fail("a block count is larger than the bytes left can hold")
		return 0
	}
	return int(n)
}

// appendLong appends v as a zig-zag varint.
func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func appendString(b []byte, s string) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

func appendDouble(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendMillis appends t as timestamp-millis, computed as goavro does:
// whole seconds times 1000 plus the milliseconds of the second, wrapping
// like goavro's int64 arithmetic for times that do not fit.
func appendMillis(b []byte, t time.Time) []byte {
	return appendLong(b, t.Unix()*1e3+int64(t.Nanosecond()/1e6))
}

// blocks splits the n items of an array or map into blocks where goavro
// does: blocks of goavro.MaxBlockCount items and a last one with the rest.
type blocks struct {
	n, left int64 // items not written yet; of those, items left in the block
}

// item appends the count that starts a block when the next item starts one.
func (bl *blocks) item(b []byte) []byte {
	if bl.left == 0 {
		bl.left = min(bl.n, goavro.MaxBlockCount)
		b = appendLong(b, bl.left)
	}
	bl.left--
	bl.n--
	return b
}
