package kafkaclient

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/plugin/kprom"
)

// Metrics returns client hooks that export a client's connection, request,
// produce and fetch metrics into reg, each named namespace_..., such as
// triage_connects_total and triage_fetch_records_total. Pass it to the
// client with kgo.WithHooks.
//
// The metrics are registered when the client is created and unregistered
// when it is closed, so a Metrics serves one client at a time, and two
// clients open at once on one reg need different namespaces. Serve them by
// serving reg; the Metrics' own Handler serves reg only if reg is also a
// prometheus.Gatherer, as a *prometheus.Registry is.
func Metrics(reg prometheus.Registerer, namespace string) *kprom.Metrics {
	opts := []kprom.Opt{kprom.Registerer(reg)}
	if g, ok := reg.(prometheus.Gatherer); ok {
		opts = append(opts, kprom.Gatherer(g))
	}
	return kprom.NewMetrics(namespace, opts...)
}
