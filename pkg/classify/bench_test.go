package classify

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// bankingLike is a generated task the shape of short banking questions: 77
// intents, messages of 8 to 14 words of 2 to 7 letters, 60 bytes on
// average.
var bankingLike = task{classes: 77, keywords: 6, filler: 2000, words: [2]int{8, 14},
	noise: 0.05, wordLen: [2]int{2, 7}}

var benchModel = sync.OnceValues(func() (*Model, error) {
	m, err := Train(context.Background(), bankingLike.generate(8000, 1, 1), Config{})
	if err != nil {
		return nil, err
	}
	_, err = m.Calibrate(bankingLike.generate(1000, 1, 2), 0.97)
	return m, err
})

// BenchmarkPredict measures one prediction on one goroutine with the
// default configuration, a model trained on the generated banking-like task,
// over 1000 different messages. Besides ns/op it reports the median and 99th
// percentile of single calls, each timed alone, and the model's file size.
func BenchmarkPredict(b *testing.B) {
	m, err := benchModel()
	if err != nil {
		b.Fatal(err)
	}
	texts := bankingLike.generate(1000, 1, 3)
	for _, tt := range []struct {
		name string
		m    *Model
	}{{"float32", m}, {"quantized", m.Quantize()}} {
		b.Run(tt.name, func(b *testing.B) {
			for _, e := range texts {
				tt.m.Predict(e.Text)
			}
			times := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				text := texts[i%len(texts)].Text
				i++
				t0 := time.Now()
				tt.m.Predict(text)
				times = append(times, time.Since(t0))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(len(tt.m.Marshal()))/1e6, "file-MB")
		})
	}
}

// BenchmarkTrain measures training with the default configuration on 8000
// generated banking-like examples, on GOMAXPROCS threads.
func BenchmarkTrain(b *testing.B) {
	examples := bankingLike.generate(8000, 1, 1)
	var epochs int
	for b.Loop() {
		m, err := Train(context.Background(), examples, Config{})
		if err != nil {
			b.Fatal(err)
		}
		epochs = m.Config().Epochs
	}
	b.ReportMetric(float64(len(examples)*epochs*b.N)/b.Elapsed().Seconds(), "examples/s")
}
