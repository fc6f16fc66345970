package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"go.yaml.in/yaml/v3"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/kafkatest"
)

// topicNames are the topics of one test's worker configuration.
type topicNames struct {
	input, enriched, escalations, deadLetters, state, explanations, explainerState string
}

// newTopicNames returns fresh topic names, none of which exists, and deletes
// whatever topics of those names the test creates when it ends.
func newTopicNames(t *testing.T, c *kafkatest.Cluster) topicNames {
	t.Helper()
	n := topicNames{
		input:        c.Group(t, "topics-in"),
		enriched:     c.Group(t, "topics-enriched"),
		escalations:  c.Group(t, "topics-esc"),
		deadLetters:  c.Group(t, "topics-dlq"),
		state:        c.Group(t, "topics-state"),
		explanations: c.Group(t, "topics-expl"),
		// Named in the configuration, but the tests give -explanations.
		explainerState: c.Group(t, "topics-expl-state"),
	}
	adm := c.Admin(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = adm.DeleteTopics(ctx, n.input, n.enriched, n.escalations, n.deadLetters,
			n.state, n.explanations, n.explanations+"-unused", n.explainerState)
	})
	return n
}

// writeTopicsConfig writes a worker configuration naming the topics of n on
// the cluster's brokers and returns its path.
func writeTopicsConfig(t *testing.T, c *kafkatest.Cluster, n topicNames) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worker.yaml")
	writeFile(t, path, fmt.Sprintf(`kafka:
  brokers: [%s]
input:
  topics: [%s]
output:
  enriched_topic: %s
  escalation_topic: %s
  dead_letter_topic: %s
  state_topic: %s
explainer:
  explanations_topic: %s-unused
  state_topic: %s
`, strings.Join(c.Brokers, ", "), n.input, n.enriched, n.escalations, n.deadLetters, n.state,
		n.explanations, n.explainerState))
	return path
}

// describe returns the partition count of topic and its cleanup.policy and
// retention.ms as the broker reports them.
func describe(t *testing.T, adm *kadm.Client, topic string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A broker may answer before the topic it just made is in its metadata.
	var details kadm.TopicDetails
	for {
		var err error
		details, err = adm.ListTopics(ctx, topic)
		if err == nil && details[topic].Err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("unable to describe %s: %v %v", topic, err, details[topic].Err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("unable to describe the configs of %s: %v", topic, err)
	}
	policy, retention := "", ""
	for _, rc := range rcs {
		for _, cfg := range rc.Configs {
			switch cfg.Key {
			case "cleanup.policy":
				policy = cfg.MaybeValue()
			case "retention.ms":
				retention = cfg.MaybeValue()
			}
		}
	}
	return len(details[topic].Partitions), policy, retention
}

func TestTopicsCreateMakesTheWorkersTopics(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		n := newTopicNames(t, c)
		// The input exists with 3 partitions: the worker's state topic must
		// follow it, the other new topics take -partitions, and the
		// explainer's state topic follows the escalations.
		n.input = c.Topic(t, "topics-in", 3, nil)
		cfg := writeTopicsConfig(t, c, n)
		adm := c.Admin(t)

		out, _, err := runCLI(t, "topics", "create", "-config", cfg, "-partitions", "2",
			"-explanations", n.explanations, "-topic-config", "retention.ms=3600000")
		if err != nil {
			t.Fatalf("topics create failed: %v\n%s", err, out)
		}
		for _, want := range []string{
			`(?m)^exists +` + n.input + ` +input +3 partitions$`,
			`(?m)^created +` + n.enriched + ` +enriched +2 partitions$`,
			`(?m)^created +` + n.escalations + ` +escalations +2 partitions$`,
			`(?m)^created +` + n.deadLetters + ` +dead letters +2 partitions$`,
			`(?m)^created +` + n.explanations + ` +explanations +2 partitions$`,
			`(?m)^created +` + n.state + ` +worker state +3 partitions$`,
			`(?m)^created +` + n.explainerState + ` +explainer state +2 partitions$`,
		} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("got report\n%s\nwant a line matching %s", out, want)
			}
		}
		if strings.Contains(out, "-unused") {
			t.Errorf("got report\n%s\nwant -explanations to replace the configured topic", out)
		}
		for _, tc := range []struct {
			topic, policy, retention string
			partitions               int
		}{
			{n.enriched, "delete", "3600000", 2},
			{n.deadLetters, "delete", "3600000", 2},
			{n.explanations, "delete", "3600000", 2},
			{n.state, "compact", "", 3},
			{n.explainerState, "compact", "", 2},
		} {
			parts, policy, retention := describe(t, adm, tc.topic)
			if parts != tc.partitions || policy != tc.policy ||
				(tc.retention != "" && retention != tc.retention) {
				t.Errorf("got %s with %d partitions, cleanup.policy=%s, retention.ms=%s; want "+
					"%d, %s and %s", tc.topic, parts, policy, retention, tc.partitions,
					tc.policy, tc.retention)
			}
		}

		t.Run("a second run reports every topic as existing", func(t *testing.T) {
			out, _, err := runCLI(t, "topics", "create", "-config", cfg,
				"-explanations", n.explanations)
			if err != nil {
				t.Fatalf("got error %v, want none:\n%s", err, out)
			}
			if got := strings.Count(out, "exists "); got != 7 || strings.Contains(out, "created") {
				t.Errorf("got report\n%s\nwant 7 topics that exist and none created", out)
			}
		})

		t.Run("list shows each topic with its role", func(t *testing.T) {
			out, _, err := runCLI(t, "topics", "list", "-config", cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				`(?m)^` + n.input + ` +3 +\d+ +input$`,
				`(?m)^` + n.state + ` +3 +\d+ +worker state$`,
				// Without -explanations the configured name is the role's.
				`(?m)^` + n.explanations + ` +2 +\d+ +$`,
				`(?m)^` + n.explanations + `-unused +- +- +explanations \(missing`,
			} {
				if !regexp.MustCompile(want).MatchString(out) {
					t.Errorf("got list\n%s\nwant a line matching %s", out, want)
				}
			}
		})
	})
}

func TestTopicsCreateWarnsOfAStateTopicThatIsNotCompacted(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		n := newTopicNames(t, c)
		n.state = c.Topic(t, "topics-state", 1, nil) // with the broker's default policy
		cfg := writeTopicsConfig(t, c, n)
		out, _, err := runCLI(t, "topics", "create", "-config", cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := "warning: state topic " + n.state + " has cleanup.policy=delete; it needs compact"
		if !strings.Contains(out, want) {
			t.Errorf("got report\n%s\nwant it to contain %q", out, want)
		}

		out, _, err = runCLI(t, "topics", "list", "-config", cfg, "-explanations",
			n.explanations)
		if err != nil {
			t.Fatal(err)
		}
		if want := n.explanations + "  -  -  explanations (missing"; !strings.Contains(
			strings.Join(strings.Fields(out), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("got list\n%s\nwant the missing explanations topic named", out)
		}
	})
}

func TestTopicsRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no subcommand", []string{"topics"}},
		{"an unknown subcommand", []string{"topics", "delete"}},
		{"zero partitions", []string{"topics", "create", "-partitions", "0"}},
		{"a replication factor of zero", []string{"topics", "create", "-replication", "0"}},
		{"a stray argument", []string{"topics", "list", "extra"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := runCLI(t, tc.args...); !errors.Is(err, errUsage) {
				t.Errorf("got error %v, want errUsage", err)
			}
		})
	}
	_, _, err := runCLI(t, "topics", "create", "-topic-config", "cleanup.policy=delete")
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy is set by triage") {
		t.Errorf("got error %v, want one saying cleanup.policy is set by triage", err)
	}
}

// TestDeployConfigIsValid loads the configuration the compose file gives
// the worker, the explainer and the tools.
func TestDeployConfigIsValid(t *testing.T) {
	cfg, err := config.Load("../../deploy/worker.yaml")
	if err != nil {
		t.Fatalf("got %v, want deploy/worker.yaml to load", err)
	}
	if got := cfg.WorkerID; got == "" {
		t.Errorf("got an empty worker_id, want the host name (each replica its own)")
	}
	if got := cfg.Kafka.Brokers; len(got) != 1 || got[0] != "kafka:19092" {
		t.Errorf("got brokers %v, want [kafka:19092], the compose network's listener", got)
	}
}

// composeFile is the part of docker-compose.yml the test below reads.
type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
	} `yaml:"services"`
}

// TestComposeFileMatchesTheBinary checks that every triage service of
// docker-compose.yml runs a subcommand the binary has, with flags it
// accepts, and that the explainer's TRIAGE_* variables name real settings.
func TestComposeFileMatchesTheBinary(t *testing.T) {
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("unable to parse docker-compose.yml: %v", err)
	}
	names := map[string]bool{}
	for _, c := range commands() {
		names[c.name] = true
	}
	triage := 0
	for name, svc := range cf.Services {
		if svc.Image != "triage:dev" {
			continue
		}
		triage++
		if len(svc.Command) == 0 || !names[svc.Command[0]] {
			t.Errorf("got service %s running %q, want a triage subcommand", name, svc.Command)
			continue
		}
		// Every command names its flags before any argument, so -h after
		// them parses them all and then asks for help.
		args := append(slices.Clone(svc.Command), "-h")
		if _, stderr, err := runCLI(t, args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("got %v running %q, want its flags accepted:\n%s", err, args, stderr)
		}
	}
	if triage < 4 {
		t.Errorf("got %d triage services, want at least topics-init, worker, explainer and "+
			"generator", triage)
	}

	for k, v := range cf.Services["explainer"].Environment {
		t.Setenv(k, v)
	}
	cfg, err := config.Load("../../deploy/worker.yaml")
	if err != nil {
		t.Fatalf("got %v, want the explainer's configuration to load", err)
	}
	m := cfg.Explainer.Model
	if m.BaseURL != "http://ollama:11434/v1" || m.Name == "" ||
		cfg.Explainer.HTTPListen != "0.0.0.0:8080" {
		t.Errorf("got model %q at %q and HTTP on %q, want a model at http://ollama:11434/v1 "+
			"and HTTP on 0.0.0.0:8080, from the compose file's variables", m.Name, m.BaseURL,
			cfg.Explainer.HTTPListen)
	}
}
