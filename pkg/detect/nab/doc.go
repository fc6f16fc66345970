// Package nab scores an anomaly detector's output the way the Numenta
// Anomaly Benchmark does: it reads a labelled corpus (series, anomaly
// windows, cost profiles), weights each detection by where it falls relative
// to the windows, sweeps one threshold per profile over the whole corpus and
// normalises the best total between the null and the perfect detector.
//
// It owns the corpus readers and the scoring rules only. It runs no detector
// itself: callers score each series and hand the scores in.
package nab
