# Targets for building, testing and measuring triage. Every target runs on a
# machine with only Go installed, except kafka-up/kafka-down (Java and Maven)
# and test-kafka, which runs the integration suite against that broker too.

GO ?= go
GOTESTFLAGS ?=
BIN := bin/triage
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build test test-short test-race test-kafka bench fuzz lint demo kafka-up kafka-down clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/triage

# The whole suite; the integration tests run on the in-process broker, and
# again on the broker in KAFKA_BROKERS when it is set.
test:
	$(GO) test $(GOTESTFLAGS) ./...

# Unit tests and the quick integration tests only.
test-short:
	$(GO) test -short $(GOTESTFLAGS) ./...

test-race:
	$(GO) test -race -short $(GOTESTFLAGS) ./...

# The suite against a real Apache Kafka node started from Maven Central jars.
test-kafka: kafka-up
	KAFKA_BROKERS=127.0.0.1:19092 $(GO) test $(GOTESTFLAGS) ./...; \
	status=$$?; .ci/kafka.sh stop; exit $$status

# Throughput of the worker against a plain copy, on the in-process broker and
# on KAFKA_BROKERS when set, then the codecs alone.
bench:
	$(GO) test -run '^$$' -bench WorkerVsCopy -benchtime 300000x -count 3 ./pkg/worker/
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/codec/

# Each fuzz target of the decoders for FUZZTIME, starting from the seeds in
# the tests and the corpus in pkg/codec/testdata/fuzz.
FUZZTIME ?= 15s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./pkg/codec/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeEvent$$' -fuzztime $(FUZZTIME) ./pkg/codec/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo:
	$(GO) run ./cmd/triage demo

kafka-up:
	.ci/kafka.sh start

kafka-down:
	.ci/kafka.sh stop

clean:
	rm -rf bin
