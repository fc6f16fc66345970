package kafkatest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// EnvImage names the environment variable that overrides DefaultImage.
const EnvImage = "KAFKATEST_IMAGE"

// DefaultImage is the Apache Kafka image of the container Run starts when
// KAFKA_BROKERS is unset and Docker answers. Any apache/kafka image of 3.7
// or later works: the container is configured through the image's own
// KAFKA_* environment variables.
//
// Known gap: the container path is not exercised where this harness is
// tested, which has no Docker engine; CI uses KAFKA_BROKERS instead.
const DefaultImage = "apache/kafka:4.1.0"

// startTimeout bounds pulling the image and waiting for the broker.
const startTimeout = 5 * time.Minute

// Inside the container, the client listener is on clientPort; its address
// as seen from the test (a host port Docker picks) is known only once the
// container runs, so the container waits for launchScript, which the
// post-start hook writes with that address, and only then starts Kafka.
const (
	clientPort   = "9092/tcp"
	launchScript = "/tmp/triage-kafka-launch.sh"
)

// container is the Kafka container shared by the test binary. mu guards ctr,
// which startContainer sets once and stopContainer clears.
var container struct {
	mu  sync.Mutex
	ctr testcontainers.Container
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
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithExposedPorts(clientPort),
		testcontainers.WithEnv(containerEnv()),
		testcontainers.WithEntrypoint("sh"),
		testcontainers.WithCmd("-c",
			"while [ ! -f "+launchScript+" ]; do sleep 0.1; done; exec sh "+launchScript),
		testcontainers.WithLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostStarts: []testcontainers.ContainerHook{launch},
		}),
	)

	// Run can return a container alongside an error; it still needs removing.
	container.mu.Lock()
	container.ctr = ctr
	container.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("unable to run %s: %w", image, err)
	}

	host, port, err := clientAddr(ctx, ctr)
	if err != nil {
		return nil, err
	}
	brokers := []string{net.JoinHostPort(host, port)}
	if err := ping(brokers, opTimeout); err != nil {
		return nil, fmt.Errorf("%s started but does not answer: %w", image, err)
	}
	return brokers, nil
}

// containerEnv configures one node that is broker and controller, with
// the settings the harness's other brokers have.
// The cluster id is any fixed 16 bytes in unpadded base64url, as KRaft
// storage formatting requires.
func containerEnv() map[string]string {
	return map[string]string{
		"CLUSTER_ID":          "aE0ltapJMdrYtzE6vIDNag",
		"KAFKA_NODE_ID":       "1",
		"KAFKA_PROCESS_ROLES": "broker,controller",
		"KAFKA_LISTENERS": "CLIENT://0.0.0.0:9092,BROKER://0.0.0.0:9093," +
			"CONTROLLER://0.0.0.0:9094",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CLIENT:PLAINTEXT,BROKER:PLAINTEXT," +
			"CONTROLLER:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME":               "BROKER",
		"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9094",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
		"KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS": strconv.FormatInt(
			MinSessionTimeout.Milliseconds(), 10),
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
	}
}

// launch writes the launch script with the client listener's outside
// address, which starts Kafka, and waits until the broker runs.
func launch(ctx context.Context, c testcontainers.Container) error {
	host, port, err := clientAddr(ctx, c)
	if err != nil {
		return err
	}
	script := fmt.Sprintf("export KAFKA_ADVERTISED_LISTENERS="+
		"CLIENT://%s,BROKER://localhost:9093\nexec /etc/kafka/docker/run\n",
		net.JoinHostPort(host, port))
	if err := c.CopyToContainer(ctx, []byte(script), launchScript, 0o755); err != nil {
		return fmt.Errorf("unable to copy the launch script: %w", err)
	}
	return wait.ForLog("Kafka Server started").WithStartupTimeout(startTimeout).
		WaitUntilReady(ctx, c)
}

// clientAddr returns the host and port the test reaches the client
// listener on.
func clientAddr(ctx context.Context, c testcontainers.Container) (string, string, error) {
	if err := wait.ForMappedPort(clientPort).WaitUntilReady(ctx, c); err != nil {
		return "", "", fmt.Errorf("no mapped port for %s: %w", clientPort, err)
	}
	host, err := c.Host(ctx)
	if err != nil {
		return "", "", fmt.Errorf("unable to get the container host: %w", err)
	}
	port, err := c.MappedPort(ctx, clientPort)
	if err != nil {
		return "", "", fmt.Errorf("unable to get the mapped port: %w", err)
	}
	return host, port.Port(), nil
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
