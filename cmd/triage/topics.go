package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/kafkaclient"
)

// This file holds "triage topics" and the connection flags that produce,
// tail and topics share.

// adminTimeout bounds one admin request of the tools.
const adminTimeout = 30 * time.Second

// connFlags are the flags that say where the cluster is: a worker
// configuration file (with the TRIAGE_* variables over it, as for the
// worker), and overrides of its brokers and schema registry.
type connFlags struct {
	config   string
	brokers  string
	registry string
}

// register adds -config and -brokers to fs, and -registry when withRegistry
// is set.
func (f *connFlags) register(fs *flag.FlagSet, withRegistry bool) {
	fs.StringVar(&f.config, "config", "", "worker configuration file for the brokers, TLS, "+
		"SASL, topic names and schema registry; TRIAGE_* variables override it")
	fs.StringVar(&f.brokers, "brokers", "", "comma-separated seed brokers, over the "+
		"configuration's kafka.brokers (default 127.0.0.1:9092)")
	if withRegistry {
		fs.StringVar(&f.registry, "registry", "", "schema registry URL, over the "+
			"configuration's schema_registry.url (default: none)")
	}
}

// load returns the configuration the flags name: config.Load of the file
// (or of the defaults and the environment when there is none), with the
// overrides applied.
func (f *connFlags) load() (config.Config, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return config.Config{}, err
	}
	if f.brokers != "" {
		cfg.Kafka.Brokers = nil
		for _, b := range strings.Split(f.brokers, ",") {
			if b = strings.TrimSpace(b); b != "" {
				cfg.Kafka.Brokers = append(cfg.Kafka.Brokers, b)
			}
		}
		if len(cfg.Kafka.Brokers) == 0 {
			return config.Config{}, fmt.Errorf("-brokers %q names no broker", f.brokers)
		}
	}
	if f.registry != "" {
		cfg.SchemaRegistry.URL = f.registry
	}
	return cfg, nil
}

// newClient returns a client for the cluster of cfg (brokers, TLS, SASL),
// with opts applied after those.
func newClient(cfg config.Config, opts ...kgo.Opt) (*kgo.Client, error) {
	base, err := kafkaclient.Options(cfg.Kafka, nil)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("unable to create a Kafka client: %w", err)
	}
	return cl, nil
}

// newRegistry returns a client of the schema registry of c, or nil when c
// names none.
func newRegistry(c config.SchemaRegistry) (*sr.Client, error) {
	if c.URL == "" {
		return nil, nil
	}
	opts := []sr.ClientOpt{sr.URLs(c.URL), sr.HTTPClient(&http.Client{Timeout: c.Timeout})}
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("unable to create a schema registry client: %w", err)
	}
	return cl, nil
}

// topicsOpts are the flags of "triage topics create" and "triage topics
// list".
type topicsOpts struct {
	conn         connFlags
	partitions   int
	replication  int
	explanations string
	configs      topicConfigs
}

// topicConfigs collects repeated -topic-config KEY=VALUE flags.
type topicConfigs map[string]*string

func (c topicConfigs) String() string {
	keys := make([]string, 0, len(c))
	for k, v := range c {
		keys = append(keys, k+"="+*v)
	}
	slices.Sort(keys)
	return strings.Join(keys, ",")
}

func (c topicConfigs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", s)
	}
	if k == "cleanup.policy" {
		return errors.New("cleanup.policy is set by triage: compact for the state topic, " +
			"the broker default for the others")
	}
	c[k] = &v
	return nil
}

const topicsUsage = `usage: triage topics create [flags]
       triage topics list [flags]

create makes the topics the worker and the explainer of the configuration
read and write: the input topics; the enriched, escalation and dead-letter
topics; the worker's compacted state topic, with as many partitions as the
input topic; the explanations topic; and the explainer's compacted state
topic, with as many partitions as the escalation topic. Topics that exist
already are reported and left as they are. list shows the cluster's topics
and the role each plays in the configuration.
`

func runTopics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		fmt.Fprint(stderr, topicsUsage)
		return errUsage
	}
	sub := args[0]
	o := topicsOpts{configs: topicConfigs{}}
	fs := usageFlagSet("topics "+sub, topicsUsage, stderr)
	o.conn.register(fs, false)
	fs.StringVar(&o.explanations, "explanations", "", "the explainer's output topic, over "+
		"the configuration's explainer.explanations_topic (default events.explanations)")
	if sub == "create" {
		fs.IntVar(&o.partitions, "partitions", 6, "partitions of each new topic; a state "+
			"topic takes the count of the topic it follows when that topic exists")
		fs.IntVar(&o.replication, "replication", -1, "replication factor of each new topic "+
			"(-1: the broker default)")
		fs.Var(o.configs, "topic-config", "KEY=VALUE topic config of each new topic but the "+
			"state topics, such as retention.ms=86400000; repeatable")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triage topics %s: unexpected argument %q\n", sub, fs.Arg(0))
		return errUsage
	}
	if sub == "create" && (o.partitions < 1 || o.replication == 0 || o.replication < -1 ||
		o.replication > 32767) {
		fmt.Fprintf(stderr, "triage topics create: want -partitions >= 1 and -replication "+
			">= 1 or -1, got %d and %d\n", o.partitions, o.replication)
		return errUsage
	}
	cfg, err := o.conn.load()
	if err != nil {
		return err
	}
	cl, err := newClient(cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(adminTimeout.Milliseconds()))

	if o.explanations != "" {
		cfg.Explainer.ExplanationsTopic = o.explanations
	}
	if sub == "list" {
		return listTopics(ctx, adm, roles(cfg), stdout)
	}
	return createTopics(ctx, adm, cfg, o, stdout)
}

// role is what a topic is to the worker or the explainer of the
// configuration.
type role struct {
	topic string
	name  string // input, enriched, escalations... as listed by roles
	// follows, for a state topic, is the topic whose partitions it keeps
	// state for, and whose partition count it takes.
	follows []string
}

// roles returns the topics of cfg in the order create makes them: the
// ones a state topic follows come before it.
func roles(cfg config.Config) []role {
	var rs []role
	for _, t := range cfg.Input.Topics {
		rs = append(rs, role{topic: t, name: "input"})
	}
	return append(rs,
		role{topic: cfg.Output.EnrichedTopic, name: "enriched"},
		role{topic: cfg.Output.EscalationTopic, name: "escalations"},
		role{topic: cfg.Output.DeadLetterTopic, name: "dead letters"},
		role{topic: cfg.Explainer.ExplanationsTopic, name: "explanations"},
		role{topic: cfg.Output.StateTopic, name: "worker state", follows: cfg.Input.Topics},
		role{topic: cfg.Explainer.StateTopic, name: "explainer state",
			follows: []string{cfg.Output.EscalationTopic}},
	)
}

// createTopics creates the topics of cfg that do not exist and reports each
// topic on out, one line each. It fails if a topic could be neither created
// nor found, after trying every one.
func createTopics(
	ctx context.Context, adm *kadm.Client, cfg config.Config, o topicsOpts, out io.Writer,
) error {
	rs := roles(cfg)
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.topic
	}
	existing, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("unable to list topics: %w", err)
	}
	partitions := map[string]int32{} // of the topics that exist or were made
	for _, d := range existing {
		if d.Err == nil {
			partitions[d.Topic] = int32(len(d.Partitions))
		}
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	var errs []error
	var compactCheck []string // state topics that were there before
	for _, r := range rs {
		if n, ok := partitions[r.topic]; ok {
			fmt.Fprintf(tw, "exists\t%s\t%s\t%d partitions\n", r.topic, r.name, n)
			if r.follows != nil {
				compactCheck = append(compactCheck, r.topic)
			}
			continue
		}
		n, configs := int32(o.partitions), map[string]*string(o.configs)
		if r.follows != nil {
			// The loop reads a state topic by input partition modulo its
			// own count, so any count works, but one partition per input
			// partition spreads the state best.
			for _, t := range r.follows {
				n = max(n, partitions[t])
			}
			configs = map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}
		}
		resp, err := adm.CreateTopic(ctx, n, int16(o.replication), configs, r.topic)
		switch {
		case errors.Is(err, kerr.TopicAlreadyExists):
			// Created since the listing, or not yet in the metadata of the
			// broker that answered it.
			fmt.Fprintf(tw, "exists\t%s\t%s\t\n", r.topic, r.name)
			if r.follows != nil {
				compactCheck = append(compactCheck, r.topic)
			}
		case err != nil:
			if resp.ErrMessage != "" {
				err = fmt.Errorf("%w: %s", err, resp.ErrMessage)
			}
			fmt.Fprintf(tw, "failed\t%s\t%s\t%v\n", r.topic, r.name, err)
			errs = append(errs, fmt.Errorf("unable to create topic %s: %w", r.topic, err))
		default:
			partitions[r.topic] = resp.NumPartitions
			fmt.Fprintf(tw, "created\t%s\t%s\t%d partitions\n", r.topic, r.name,
				resp.NumPartitions)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("unable to write the report: %w", err)
	}

	// A state topic someone else made may not be compacted; its state
	// would then be lost to retention.
	for _, topic := range compactCheck {
		policy, err := cleanupPolicy(ctx, adm, topic)
		switch {
		case err != nil:
			fmt.Fprintf(out, "warning: unable to check the cleanup.policy of state topic %s: "+
				"%v\n", topic, err)
		case !strings.Contains(policy, "compact"):
			fmt.Fprintf(out, "warning: state topic %s has cleanup.policy=%s; it needs "+
				"compact\n", topic, policy)
		}
	}
	return errors.Join(errs...)
}

// cleanupPolicy returns the cleanup.policy of topic.
func cleanupPolicy(ctx context.Context, adm *kadm.Client, topic string) (string, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return "", err
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return "", err
	}
	if rc.Err != nil {
		return "", rc.Err
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" {
			return c.MaybeValue(), nil
		}
	}
	return "delete", nil // the broker default when the topic does not say
}

// listTopics writes the cluster's topics, sorted, with their partitions,
// replication factor and role, followed by the configured topics that do
// not exist.
func listTopics(ctx context.Context, adm *kadm.Client, rs []role, out io.Writer) error {
	details, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("unable to list topics: %w", err)
	}
	roleOf := make(map[string][]string)
	for _, r := range rs {
		roleOf[r.topic] = append(roleOf[r.topic], r.name)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICATION\tROLE")
	for _, d := range details.Sorted() {
		if d.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\terror: %v\n", d.Topic, d.Err)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", d.Topic, len(d.Partitions),
			d.Partitions.NumReplicas(), strings.Join(roleOf[d.Topic], ", "))
	}
	for _, r := range rs {
		if _, ok := details[r.topic]; !ok {
			fmt.Fprintf(tw, "%s\t-\t-\t%s (missing: run triage topics create)\n", r.topic,
				r.name)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("unable to write the list: %w", err)
	}
	return nil
}
