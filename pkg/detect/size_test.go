package detect

import (
	"testing"
	"unsafe"
)

func TestStateFitsInTwoKilobytes(t *testing.T) {
	if got := unsafe.Sizeof(Detector{}); got > 2048 {
		t.Errorf("got a detector of %d bytes, want at most 2048", got)
	}
	if SnapshotSize > 2048 {
		t.Errorf("got snapshots of %d bytes, want at most 2048", SnapshotSize)
	}
	t.Logf("detector %d bytes, snapshot %d bytes, store entry %d bytes",
		unsafe.Sizeof(Detector{}), SnapshotSize, unsafe.Sizeof(entry{}))
}
