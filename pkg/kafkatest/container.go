package kafkatest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
)

// EnvImage names the environment variable that overrides DefaultImage.
const EnvImage = "KAFKATEST_IMAGE"

// DefaultImage is the image of the container Run starts when KAFKA_BROKERS is
// unset and Docker answers. The testcontainers Kafka module configures the
// broker through the scripts of Confluent's packaging of Apache Kafka, and
// this is the tag that module is tested with; images without those scripts,
// such as apache/kafka, do not start under it.
//
// Known gap: the container path is not exercised where this harness is
// tested, which has no Docker engine; CI uses KAFKA_BROKERS instead.
const DefaultImage = "confluentinc/confluent-local:7.5.0"

// startTimeout bounds pulling the image and waiting for the broker.
const startTimeout = 5 * time.Minute

// container is the Kafka container shared by the test binary. mu guards ctr,
// which startContainer sets once and stopContainer clears.
var container struct {
	mu  sync.Mutex
	ctr *tckafka.KafkaContainer
}

// dockerAvailable returns nil if a Docker engine answers within ctx.
func dockerAvailable(ctx context.Context) (err error) {
	// The provider lookup panics rather than erring on some broken setups.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unable to find a Docker engine: %v", r)
		}
	}()

	p, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return fmt.Errorf("unable to find a Docker engine: %w", err)
	}
	defer p.Close()

	if err := p.Health(ctx); err != nil {
		return fmt.Errorf("the Docker engine is not healthy: %w", err)
	}
	return nil
}

// startContainer starts the shared Kafka container and returns its seed
// address. It is called at most once, by realCluster.
func startContainer() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	image := DefaultImage
	if v := os.Getenv(EnvImage); v != "" {
		image = v
	}
	minSession := strconv.FormatInt(MinSessionTimeout.Milliseconds(), 10)
	ctr, err := tckafka.Run(ctx, image, testcontainers.WithEnv(map[string]string{
		"KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS": minSession,
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE":    "false",
	}))

	// Run can return a container alongside an error; it still needs removing.
	container.mu.Lock()
	container.ctr = ctr
	container.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("unable to run %s: %w", image, err)
	}

	brokers, err := ctr.Brokers(ctx)
	if err != nil {
		return nil, fmt.Errorf("unable to get the broker address of %s: %w", image, err)
	}
	if err := ping(brokers, opTimeout); err != nil {
		return nil, fmt.Errorf("%s started but does not answer: %w", image, err)
	}
	return brokers, nil
}

// stopContainer removes the shared container, if one was started.
func stopContainer() error {
	container.mu.Lock()
	defer container.mu.Unlock()

	if container.ctr == nil {
		return nil
	}
	err := testcontainers.TerminateContainer(container.ctr)
	container.ctr = nil
	if err != nil {
		return fmt.Errorf("unable to terminate the Kafka container: %w", err)
	}
	return nil
}
