package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors of UnmarshalBinary.
var (
	// ErrSnapshotVersion is returned when a snapshot was written by an
	// unknown version of the format.
	ErrSnapshotVersion = errors.New("unknown detector snapshot version")
	// ErrSnapshotSize is returned when a snapshot is truncated or too long.
	ErrSnapshotSize = errors.New("bad detector snapshot size")
	// ErrConfigMismatch is returned when a snapshot was learned under other
	// learning parameters than the detector's (see Config).
	ErrConfigMismatch = errors.New("detector snapshot learned under another config")
)

// snapshotVersion is the first byte of every snapshot. A change of the
// layout below takes a new version; old versions stay readable or are
// refused with ErrSnapshotVersion.
const snapshotVersion = 1

// SnapshotSize is the length in bytes of every snapshot.
const SnapshotSize = 1 + 8 + 8 + 13*8 + 2*4 + (2*dayKnots+2*weekKnots+MaxShort)*4

// MarshalBinary returns a snapshot of the detector's state: everything it
// has learned, so that a detector restored from it with UnmarshalBinary
// continues bit for bit as this one would. The configuration is not in it,
// only a fingerprint of its learning parameters.
func (d *Detector) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, SnapshotSize))
}

// AppendBinary appends a snapshot (see MarshalBinary) to b. It allocates
// only when b lacks SnapshotSize bytes of spare capacity.
func (d *Detector) AppendBinary(b []byte) ([]byte, error) {
	le := binary.LittleEndian
	b = append(b, snapshotVersion)
	b = le.AppendUint64(b, d.cfg.learning())
	b = le.AppendUint64(b, uint64(d.n))
	for _, f := range d.floats() {
		b = le.AppendUint64(b, math.Float64bits(*f))
	}
	b = le.AppendUint32(b, uint32(d.ringI))
	b = le.AppendUint32(b, uint32(d.hold))
	for _, a := range d.arrays() {
		for _, f := range a {
			b = le.AppendUint32(b, math.Float32bits(f))
		}
	}
	return b, nil
}

// UnmarshalBinary replaces the detector's state with a snapshot written by
// MarshalBinary. The detector keeps its configuration (the default one if
// it has none), whose learning parameters must be those of the snapshot. On
// error the detector is left unchanged.
func (d *Detector) UnmarshalBinary(data []byte) error {
	if d.cfg == nil {
		cfg := DefaultConfig()
		d.cfg = &cfg
	}
	if len(data) > 0 && data[0] != snapshotVersion {
		return fmt.Errorf("%w: %d", ErrSnapshotVersion, data[0])
	}
	if len(data) != SnapshotSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrSnapshotSize, len(data), SnapshotSize)
	}
	le := binary.LittleEndian
	if fp := le.Uint64(data[1:]); fp != d.cfg.learning() {
		return fmt.Errorf("%w: fingerprint %x, want %x", ErrConfigMismatch, fp,
			d.cfg.learning())
	}
	r := Detector{cfg: d.cfg}
	p := data[9:]
	r.n = int64(le.Uint64(p))
	p = p[8:]
	for _, f := range r.floats() {
		*f = math.Float64frombits(le.Uint64(p))
		p = p[8:]
	}
	r.ringI = int32(le.Uint32(p))
	r.hold = int32(le.Uint32(p[4:]))
	p = p[8:]
	if r.ringI < 0 || int(r.ringI) >= d.cfg.Short || r.n < 0 {
		return fmt.Errorf("%w: ring index %d or count %d out of range", ErrSnapshotSize,
			r.ringI, r.n)
	}
	for _, a := range r.arrays() {
		for i := range a {
			a[i] = math.Float32frombits(le.Uint32(p))
			p = p[4:]
		}
	}
	*d = r
	return nil
}

// floats lists the float64 fields of the state in snapshot order.
func (d *Detector) floats() [13]*float64 {
	return [13]*float64{&d.first, &d.level, &d.lo, &d.hi,
		&d.scale[0], &d.scale[1], &d.scale[2], &d.count[0], &d.count[1], &d.count[2],
		&d.ringS, &d.longMean, &d.longVar}
}

// arrays lists the float32 arrays of the state in snapshot order.
func (d *Detector) arrays() [5][]float32 {
	return [5][]float32{d.day[:], d.dayDev[:], d.week[:], d.weekDev[:], d.ring[:]}
}
