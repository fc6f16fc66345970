package kafkatest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnvBrokers names the environment variable that points Run at a real broker:
// a comma-separated list of host:port seeds, such as "127.0.0.1:19092".
const EnvBrokers = "KAFKA_BROKERS"

// MinSessionTimeout is the smallest group session timeout that the kfake
// cluster, the .ci/kafka.sh broker and the container accept, so that tests
// can make a dead member leave quickly. A broker named by KAFKA_BROKERS and
// configured elsewhere may demand more (Kafka's default minimum is 6s).
const MinSessionTimeout = 100 * time.Millisecond

// opTimeout bounds each admin call, produce and reachability check that the
// harness makes on the test's behalf.
const opTimeout = 30 * time.Second

// Cluster is one cluster that a test body runs against. Its fields are set by
// Run and must not be changed.
type Cluster struct {
	// Name is "kfake" for the in-process fake and "kafka" for a real broker;
	// it is also the name of the subtest.
	Name string

	// Brokers holds the seed addresses to give to kgo.SeedBrokers.
	Brokers []string

	// Fake is the in-process cluster, for tests that inject faults through
	// its control functions. It is nil for a real broker: such a test must
	// skip that part with a t.Log that says why.
	Fake *kfake.Cluster
}

// Run runs fn as one subtest per cluster, kfake first:
//
//   - "kfake": a fresh single-broker kfake cluster on 127.0.0.1, closed when
//     the subtest ends. A topic created with -1 partitions gets one, as on
//     the .ci/kafka.sh broker.
//   - "kafka": the real broker named by KAFKA_BROKERS. When that is unset and
//     a Docker engine answers, a Kafka container started on first use and
//     shared by the whole test binary (see Main). When neither is there, Run
//     logs why and runs nothing more; it never skips silently.
//
// The real broker is shared by every test, so fn must use names from Topic,
// Group and TransactionalID rather than fixed ones. If KAFKA_BROKERS is set
// and no broker in it answers, or a container fails to start, the test fails:
// an absent broker is only acceptable when nobody asked for one.
//
// The subtests run one after the other unless fn calls t.Parallel. Run must be
// called from the test goroutine.
func Run(t *testing.T, fn func(t *testing.T, c *Cluster)) {
	t.Helper()

	t.Run("kfake", func(t *testing.T) {
		fn(t, newFake(t))
	})

	kc, why, err := realCluster()
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	if kc == nil {
		t.Logf("kafkatest: only kfake ran: %s", why)
		return
	}
	t.Run(kc.Name, func(t *testing.T) {
		fn(t, kc)
	})
}

// Bench is Run for benchmarks: fn runs as a sub-benchmark per cluster,
// "kfake" first, then the real broker when there is one, so one run reports
// the figures of both side by side.
func Bench(b *testing.B, fn func(b *testing.B, c *Cluster)) {
	b.Helper()

	b.Run("kfake", func(b *testing.B) {
		fn(b, newFake(b))
	})

	kc, why, err := realCluster()
	if err != nil {
		b.Fatalf("kafkatest: %v", err)
	}
	if kc == nil {
		b.Logf("kafkatest: only kfake ran: %s", why)
		return
	}
	b.Run(kc.Name, func(b *testing.B) {
		fn(b, kc)
	})
}

// newFake starts a kfake cluster that the test closes when it ends.
func newFake(t testing.TB) *Cluster {
	t.Helper()

	fake, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(MinSessionTimeout),
	)
	if err != nil {
		t.Fatalf("unable to start kfake cluster: %v", err)
	}
	t.Cleanup(fake.Close)

	return &Cluster{Name: "kfake", Brokers: fake.ListenAddrs(), Fake: fake}
}

// realBroker holds the outcome of looking for a real broker, which realCluster
// does once per test binary.
var realBroker struct {
	once    sync.Once
	cluster *Cluster // nil when there is no real broker
	why     string   // why cluster is nil, when err is nil too
	err     error    // a real broker was asked for and is not usable
}

// realCluster returns the real broker the tests run against. Exactly one of
// the three results is set: the cluster, the reason there is none, or the
// error that makes its absence a failure.
func realCluster() (*Cluster, string, error) {
	realBroker.once.Do(func() {
		realBroker.cluster, realBroker.why, realBroker.err = findReal()
	})
	return realBroker.cluster, realBroker.why, realBroker.err
}

func findReal() (*Cluster, string, error) {
	if env := os.Getenv(EnvBrokers); env != "" {
		brokers := splitBrokers(env)
		if len(brokers) == 0 {
			return nil, "", fmt.Errorf("%s=%q names no broker", EnvBrokers, env)
		}
		if err := ping(brokers, opTimeout); err != nil {
			return nil, "", fmt.Errorf("%s is set but unusable (is the broker up? "+
				"start one with .ci/kafka.sh start): %w", EnvBrokers, err)
		}
		return &Cluster{Name: "kafka", Brokers: brokers}, "", nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := dockerAvailable(ctx); err != nil {
		why := fmt.Sprintf("%s is unset and no Docker engine answered (%v); "+
			"to run against a real broker: .ci/kafka.sh start && "+
			"export %s=127.0.0.1:19092", EnvBrokers, err, EnvBrokers)
		return nil, why, nil
	}

	brokers, err := startContainer()
	if err != nil {
		return nil, "", fmt.Errorf("%s is unset and Docker answers, "+
			"but the Kafka container did not start: %w", EnvBrokers, err)
	}
	return &Cluster{Name: "kafka", Brokers: brokers}, "", nil
}

// splitBrokers splits a comma-separated seed list, dropping empty entries.
func splitBrokers(s string) []string {
	var brokers []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	return brokers
}

// ping returns nil once a broker in brokers answers an ApiVersions request,
// or an error naming the brokers if none does within timeout.
func ping(brokers []string, timeout time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("invalid seed brokers %v: %w", brokers, err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("no broker in %v answered: %w", brokers, err)
	}
	return nil
}

// Main runs the tests of m, stops the container Run may have started, and
// exits with the tests' status. Call it from TestMain in every package that
// uses Run:
//
//	func TestMain(m *testing.M) { kafkatest.Main(m) }
//
// Without it a container is still removed, but only when Docker notices that
// the test binary has exited.
func Main(m *testing.M) {
	code := m.Run()
	if err := stopContainer(); err != nil {
		fmt.Fprintf(os.Stderr, "kafkatest: %v\n", err)
	}
	os.Exit(code)
}
