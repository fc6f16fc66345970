// Package kafkatest runs integration tests against Kafka: every test body
// given to Run executes once against a fresh in-process kfake cluster and
// once against a real Apache Kafka broker, so that behaviour the fake gets
// wrong shows up as a difference between the two subtests.
//
// The real broker is the one named by KAFKA_BROKERS (CI starts it with
// .ci/kafka.sh), or else a container started once per test binary when a
// Docker engine answers. Without either, Run says so in the test log and
// runs the kfake half only.
//
// The package owns the lifecycle of what it creates (clusters, containers,
// clients, topics) and cleans all of it up through t.Cleanup and Main. It
// must not depend on any other package of this module, so that every package
// can use it in its tests.
package kafkatest
