package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// writeTickets writes a CSV of n generated support tickets of four
// categories, each told by a few words of its own among common ones.
func writeTickets(t *testing.T, n int) string {
	t.Helper()
	topics := map[string][]string{
		"billing":  {"invoice", "refund", "charged", "payment", "bill"},
		"login":    {"password", "login", "locked", "reset", "account"},
		"hardware": {"laptop", "screen", "keyboard", "broken", "battery"},
		"network":  {"wifi", "vpn", "connection", "slow", "offline"},
	}
	common := strings.Fields("please help my the is not working since today thanks hi " +
		"again urgent team can you check it")
	names := []string{"billing", "login", "hardware", "network"}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("text,category\n")
	for range n {
		c := names[rng.IntN(len(names))]
		var words []string
		for range 4 + rng.IntN(6) {
			words = append(words, common[rng.IntN(len(common))])
		}
		for range 2 {
			words = append(words, topics[c][rng.IntN(len(topics[c]))])
		}
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		fmt.Fprintf(&b, "%q,%s\n", strings.Join(words, " "), c)
	}
	path := filepath.Join(t.TempDir(), "tickets.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTrainThenEvalClassifier(t *testing.T) {
	data := writeTickets(t, 600)
	model := filepath.Join(t.TempDir(), "model.bin")
	valid := filepath.Join(t.TempDir(), "valid.csv")
	var out bytes.Buffer
	err := run(context.Background(), []string{"train", "--data", data, "--label", "category",
		"--out", model, "--buckets", "8192", "--dim", "16", "--quantize",
		"--write-valid", valid}, &out, &out)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, out.String())
	}
	for _, want := range []string{"accuracy:", "macro-F1", "expected calibration error",
		"threshold", "training time", "examples/s", "model: " + model, "quantized: accuracy:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("train output lacks %q:\n%s", want, out.String())
		}
	}
	if fi, err := os.Stat(model); err != nil || fi.Size() == 0 {
		t.Fatalf("no model file: %v", err)
	}

	out.Reset()
	err = run(context.Background(), []string{"eval", "classifier", "--model", model,
		"--data", valid, "--label", "category", "--timing", "50ms"}, &out, &out)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`(?m)^accuracy: (0\.\d{4}|1\.0000)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("eval output has no line accuracy: 0.xxxx:\n%s", out.String())
	}
	if acc, _ := strconv.ParseFloat(m[1], 64); acc < 0.9 {
		t.Errorf("got accuracy %v on an easy task, want at least 0.9", acc)
	}
	if !strings.Contains(out.String(), "examples: 60\n") {
		t.Errorf("eval did not read the 60 examples of the validation split:\n%s", out.String())
	}
	for _, want := range []string{"macro-F1", "expected calibration error", "accuracy 0.97:",
		"most confused", "p50", "p99", "predictions/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("eval output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTrainRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oneClass := write("one.csv", "text,label\nhello there,a\nhi you,a\nyo,a\n")
	tooFew := write("few.csv", "text,label\nhello there,a\nhi you,a\nyo,b\n")
	badRow := write("bad.csv", "text,label\nhello there,a\nhi you,b\n\"unclosed,a\n")
	out := filepath.Join(dir, "model.bin")
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr error
		want    string
	}{
		{"one class", []string{"--data", oneClass, "--out", out}, nil, "at least 2"},
		{"a class of one", []string{"--data", tooFew, "--out", out}, nil, `class "b"`},
		{"a malformed row", []string{"--data", badRow, "--out", out}, nil, "row 3"},
		{"no data flag", []string{"--out", out}, errUsage, "usage: triage train"},
		{"an unknown flag", []string{"--data", oneClass, "--out", out, "--bogus"}, nil, "bogus"},
		{"a bad fraction", []string{"--data", oneClass, "--out", out, "--valid-fraction", "2"},
			errUsage, "valid-fraction"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := run(context.Background(), append([]string{"train"}, tt.args...), &buf, &buf)
			if err == nil {
				t.Fatalf("got no error, want one")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if msg := err.Error() + buf.String(); !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want it to say %q", msg, tt.want)
			}
		})
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed training left a model file: %v", err)
	}
}

func TestEvalClassifierRefusesACorruptModel(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.bin")
	data := writeTickets(t, 50)
	if err := os.WriteFile(model, []byte("TRIAGECL but not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err := run(context.Background(), []string{"eval", "classifier", "--model", model,
		"--data", data}, &buf, &buf)
	if err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("got error %v, want one about the model", err)
	}
}
