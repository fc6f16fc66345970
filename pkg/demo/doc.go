// Package demo owns the closed world of the demo: a payments company whose
// customer messages, service metrics and merchant payments it generates,
// deterministically for a seed, with incidents injected on a schedule and
// kept as ground truth, and the scorecard that checks the worker's
// escalations and the explainer's explanations against that truth. It
// owns no Kafka code and no worker code: callers produce what it makes and
// feed it what they consume.
package demo
