// Package kafkaclient turns the Kafka section of the configuration into
// franz-go client options: seed brokers, client id, TLS, SASL, logging and
// Prometheus metrics. It owns how the worker connects and authenticates,
// not what it does once connected: consumer groups, topics, transactions
// and the group timeouts are set by the package that runs the pipeline.
package kafkaclient
