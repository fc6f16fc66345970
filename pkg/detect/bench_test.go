package detect

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"
)

// BenchmarkUpdate measures one point of one series: ns/op is the cost per
// point, allocs/op must be 0.
func BenchmarkUpdate(b *testing.B) {
	s := daily(b, 20*288, 12)
	d := New(DefaultConfig())
	run(d, s, 0, 2*288) // past the warm-up and the first day
	b.ReportAllocs()
	b.ResetTimer()
	j := 2 * 288
	for b.Loop() {
		d.Update(s.times[j], s.values[j])
		if j++; j == len(s.times) {
			j = 2 * 288
			b.StopTimer()
			d = New(DefaultConfig())
			run(d, s, 0, j)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(unsafe.Sizeof(Detector{})), "state-bytes")
}

// BenchmarkStoreUpdate measures one point through a store of 10,000 series
// keyed by strings, points going round the series.
func BenchmarkStoreUpdate(b *testing.B) {
	const n = 10_000
	s := NewStore(DefaultConfig(), n)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("entity-%05d\x00latency", i)
	}
	ns := noisy(b, 1000, 13)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		j := i % len(ns.times)
		s.Update(keys[i%n], ns.times[j], ns.values[j])
		i++
	}
}

// BenchmarkSnapshot measures a snapshot into a reused buffer.
func BenchmarkSnapshot(b *testing.B) {
	d := New(DefaultConfig())
	run(d, noisy(b, 500, 14), 0, 500)
	buf := make([]byte, 0, SnapshotSize)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = d.AppendBinary(buf[:0])
	}
}

// BenchmarkStoreMillionSeries feeds 1,000,000 distinct series to a store
// bounded to 64 MiB and reports the heap it holds per series.
func BenchmarkStoreMillionSeries(b *testing.B) {
	const bound = 64 << 20
	keys := make([]string, 1_000_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("entity-%07d\x00latency", i)
	}
	ns := noisy(b, 3, 15)
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := NewStore(DefaultConfig(), MaxSeriesFor(bound, len(keys[0])))
		for i, k := range keys {
			s.Update(k, ns.times[i%3], ns.values[i%3])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(s.Len()),
			"heap-bytes/series")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(s.Evictions()), "evictions")
		runtime.KeepAlive(s)
	}
}
