package classify

import "errors"

// Sentinel errors of the package. Callers test them with errors.Is; the
// returned errors wrap them with the detail of what went wrong.
var (
	// ErrFormat is returned when a model file is not a model file: its magic
	// is wrong, it is truncated, or a field holds an impossible value.
	ErrFormat = errors.New("not a valid model file")
	// ErrVersion is returned when a model file was written in a format
	// version this build cannot read.
	ErrVersion = errors.New("unsupported model format version")
	// ErrChecksum is returned when the checksum of a model file does not
	// match its contents, that is when the file is corrupt.
	ErrChecksum = errors.New("model file checksum mismatch")
	// ErrData is returned when training or evaluation data is unusable: a
	// malformed row, an empty label, fewer than two classes or a class with
	// too few examples. The wrapping error names the row or the class.
	ErrData = errors.New("unusable data")
	// ErrConfig is returned when a hyperparameter is out of its range.
	ErrConfig = errors.New("invalid configuration")
)
