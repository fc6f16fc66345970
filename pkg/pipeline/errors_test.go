package pipeline_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/streamtriage/triage/pkg/pipeline"
)

func TestAsRejectionFindsWrappedRejections(t *testing.T) {
	rej := pipeline.Reject("bad", errors.New("cause"))
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil is no rejection", nil, false},
		{"a plain error is no rejection", errors.New("down"), false},
		{"a rejection is one", rej, true},
		{"a wrapped rejection is one", fmt.Errorf("stage: %w", rej), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pipeline.AsRejection(tt.err)
			if ok != tt.want || (ok && got.Reason != "bad") {
				t.Errorf("got %v, %v, want a rejection: %v", got, ok, tt.want)
			}
		})
	}
}

func TestAsRejectionDoesNotAllocate(t *testing.T) {
	plain := errors.New("down")
	rej := fmt.Errorf("stage: %w", pipeline.Reject("bad", plain))
	for _, err := range []error{nil, plain, rej} {
		if n := testing.AllocsPerRun(100, func() { pipeline.AsRejection(err) }); n != 0 {
			t.Errorf("AsRejection(%v): got %v allocations, want 0", err, n)
		}
	}
}
