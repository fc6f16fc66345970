// Package logging builds the worker's zap logger from config.Log: JSON for
// machines, console for people at a terminal. It owns the encoding, the
// level and the sampling of repeated messages; what is logged, and with
// which fields, is up to each package (the project writes fixed lowercase
// messages with snake_case fields, the error as a field).
package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/streamtriage/triage/pkg/config"
)

// Sampling of repeated messages: per message and second, the first
// sampleFirst are written and then every sampleThereafter-th.
const (
	sampleFirst      = 100
	sampleThereafter = 100
)

// New returns a logger writing to w, or to os.Stderr if w is nil.
//
// The format is JSON unless c.Format is console, or is auto (or empty) and w
// is a terminal; console output is colored only on a terminal. The level is
// c.Level, info if empty. An unknown level or format is an error. Each
// second, a message logged more than 100 times has only every 100th of the
// rest written. Stack traces are added only from DPanic up.
//
// The caller should Sync the logger before exiting.
func New(c config.Log, w io.Writer) (*zap.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	level, err := parseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	tty := isTerminal(w)

	var enc zapcore.Encoder
	switch c.Format {
	case config.FormatJSON:
		enc = jsonEncoder()
	case config.FormatConsole:
		enc = consoleEncoder(tty)
	case config.FormatAuto, "":
		if tty {
			enc = consoleEncoder(true)
		} else {
			enc = jsonEncoder()
		}
	default:
		return nil, fmt.Errorf("unknown log format %q; want json, console or auto", c.Format)
	}

	ws := zapcore.AddSync(w)
	core := zapcore.NewCore(enc, ws, level)
	core = zapcore.NewSamplerWithOptions(core, time.Second, sampleFirst, sampleThereafter)
	return zap.New(core,
		zap.AddCaller(),
		zap.AddStacktrace(zapcore.DPanicLevel),
		zap.ErrorOutput(ws),
	), nil
}

// parseLevel returns the zap level named by s: debug, info, warn or error,
// and info for the empty string.
func parseLevel(s string) (zapcore.Level, error) {
	switch s {
	case "debug":
		return zapcore.DebugLevel, nil
	case "info", "":
		return zapcore.InfoLevel, nil
	case "warn":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	default:
		return 0, fmt.Errorf("unknown log level %q; want debug, info, warn or error", s)
	}
}

func jsonEncoder() zapcore.Encoder {
	ec := zap.NewProductionEncoderConfig()
	ec.TimeKey = "time"
	ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	ec.EncodeDuration = zapcore.StringDurationEncoder
	return zapcore.NewJSONEncoder(ec)
}

func consoleEncoder(color bool) zapcore.Encoder {
	ec := zap.NewDevelopmentEncoderConfig()
	ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	ec.EncodeDuration = zapcore.StringDurationEncoder
	if color {
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	return zapcore.NewConsoleEncoder(ec)
}

// isTerminal reports whether w is a file on a character device, which is
// how a terminal looks without a terminal library. /dev/null is one too; a
// console format there is harmless.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
