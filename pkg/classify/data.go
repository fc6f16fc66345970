package classify

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Columns names the fields of a data file that hold the text and the label.
type Columns struct {
	Text  string // default "text"
	Label string // default "label"
}

func (c Columns) withDefaults() Columns {
	if c.Text == "" {
		c.Text = "text"
	}
	if c.Label == "" {
		c.Label = "label"
	}
	return c
}

// ReadExamples reads labelled texts from r: JSON lines when the first byte
// that is not white space is '{', otherwise CSV with a header row. Every
// row must have a label and a text with at least one word; invalid UTF-8 is
// replaced. An error wraps ErrData and names the row (counting data rows
// from 1) and its line in the file.
func ReadExamples(r io.Reader, cols Columns) ([]Example, error) {
	cols = cols.withDefaults()
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: the file is empty", ErrData)
			}
			return nil, fmt.Errorf("unable to read data: %w", err)
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		case '{':
			return readJSONLines(br, cols)
		}
		return readCSV(br, cols)
	}
}

// checkRow returns the example of one row, or why the row is unusable.
func checkRow(text, label string) (Example, error) {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	label = strings.TrimSpace(label)
	if label == "" {
		return Example{}, errors.New("empty label")
	}
	if !utf8.ValidString(label) {
		return Example{}, errors.New("label is not valid UTF-8")
	}
	var t tokens
	if tokenize(text, &t); t.len() == 0 {
		return Example{}, errors.New("text has no word")
	}
	return Example{Text: text, Label: label}, nil
}

func readCSV(r io.Reader, cols Columns) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header row: %w", ErrData, err)
	}
	ti, li := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")) {
		case cols.Text:
			ti = i
		case cols.Label:
			li = i
		}
	}
	if ti < 0 || li < 0 {
		return nil, fmt.Errorf("%w: header %q lacks the text column %q or the label column %q",
			ErrData, strings.Join(header, ","), cols.Text, cols.Label)
	}
	var out []Example
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %w", ErrData, row, err)
		}
		line, _ := cr.FieldPos(0)
		e, err := checkRow(rec[ti], rec[li])
		if err != nil {
			return nil, fmt.Errorf("%w: row %d (line %d): %w", ErrData, row, line, err)
		}
		out = append(out, e)
	}
}

func readJSONLines(r *bufio.Reader, cols Columns) ([]Example, error) {
	var out []Example
	line, row := 0, 0
	for {
		b, err := r.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("unable to read data: %w", err)
		}
		line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		row++
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("%w: row %d (line %d): %w", ErrData, row, line, err)
		}
		text, ok1 := obj[cols.Text].(string)
		label, ok2 := jsonLabel(obj[cols.Label])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w: row %d (line %d): want string fields %q and %q",
				ErrData, row, line, cols.Text, cols.Label)
		}
		e, err := checkRow(text, label)
		if err != nil {
			return nil, fmt.Errorf("%w: row %d (line %d): %w", ErrData, row, line, err)
		}
		out = append(out, e)
	}
}

// jsonLabel accepts a label written as a string or as a number.
func jsonLabel(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return fmt.Sprint(v), true
	}
	return "", false
}
