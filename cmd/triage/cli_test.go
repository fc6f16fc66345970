package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("output:\n  delivery: twice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr error
		wantOut string
	}{
		{"the example file", []string{"config", "check", "../../config.example.yaml"}, nil, "ok"},
		{"a bad value", []string{"config", "check", bad}, errReported,
			`output.delivery "twice" is not supported`},
		{"no file", []string{"config", "check"}, errUsage, "usage: triage config check FILE"},
		{"an unknown command", []string{"frobnicate"}, errUsage, `unknown command "frobnicate"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, &out)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q does not contain %q", out.String(), tt.wantOut)
			}
		})
	}
}
