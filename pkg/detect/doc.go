// Package detect owns the univariate online anomaly detector of the worker:
// one Detector per series, fed one point at a time in time order, that
// returns an anomaly score in [0,1] with the expected value and band behind
// it, and whose state can be snapshotted and restored bit for bit. It also
// owns Store, a bounded least-recently-used map of detectors keyed by
// series.
//
// It knows nothing of Kafka, records or entities: the worker decides what a
// series is, when to checkpoint and where the snapshots go.
package detect
