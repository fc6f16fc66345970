package pipeline

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// session is one Kafka client in the consumer group, seen as the loop needs
// it: poll a batch, open it, produce into it, end it. The exactly-once
// session ends a batch by committing a transaction that holds the outputs
// and the consumed offsets; the at-least-once session flushes the outputs
// and then commits the offsets.
type session interface {
	client() *kgo.Client
	// init readies the session before its first poll.
	init(ctx context.Context) error
	poll(ctx context.Context, max int) kgo.Fetches
	begin() error
	produce(ctx context.Context, r *kgo.Record, promise func(*kgo.Record, error))
	// flush waits until every record produced so far is written or failed.
	flush(ctx context.Context) error
	// end commits the batch when commit is true and nothing prevents it
	// (a rebalance, a failed produce), and aborts it otherwise. It reports
	// whether the batch committed. An error means the session is unusable.
	end(ctx context.Context, commit bool) (bool, error)
	close()
}

type txnSession struct{ s *kgo.GroupTransactSession }

func newTxnSession(opts []kgo.Opt) (*txnSession, error) {
	s, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, fmt.Errorf("unable to create transactional session: %w", err)
	}
	return &txnSession{s}, nil
}

func (t *txnSession) client() *kgo.Client { return t.s.Client() }

// init fences the previous incarnation of the worker before the group
// hands out any partition: loading the producer id aborts the transaction
// a crashed worker left open. Without it the new consumer would wait for
// that transaction's offsets to become stable, and the transaction would
// only end when it timed out, since the producer id is otherwise loaded
// at the first produce, after the first poll.
func (t *txnSession) init(ctx context.Context) error {
	if _, _, err := t.s.Client().ProducerID(ctx); err != nil {
		return fmt.Errorf("unable to initialise the transactional producer: %w", err)
	}
	return nil
}

func (t *txnSession) poll(ctx context.Context, max int) kgo.Fetches {
	return t.s.PollRecords(ctx, max)
}

func (t *txnSession) begin() error { return t.s.Begin() }

func (t *txnSession) produce(ctx context.Context, r *kgo.Record, p func(*kgo.Record, error)) {
	t.s.Produce(ctx, r, p)
}

func (t *txnSession) flush(ctx context.Context) error { return t.s.Client().Flush(ctx) }

func (t *txnSession) end(ctx context.Context, commit bool) (bool, error) {
	return t.s.End(ctx, kgo.TransactionEndTry(commit))
}

func (t *txnSession) close() { t.s.Close() }

// alosSession blocks rebalances while a polled batch is in flight, so the
// offsets it commits are always for partitions it still owns.
type alosSession struct{ cl *kgo.Client }

func newAlosSession(opts []kgo.Opt) (*alosSession, error) {
	opts = append(opts, kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("unable to create client: %w", err)
	}
	return &alosSession{cl}, nil
}

func (a *alosSession) client() *kgo.Client { return a.cl }

func (a *alosSession) init(context.Context) error { return nil }

func (a *alosSession) poll(ctx context.Context, max int) kgo.Fetches {
	return a.cl.PollRecords(ctx, max)
}

func (a *alosSession) begin() error { return nil }

func (a *alosSession) produce(ctx context.Context, r *kgo.Record, p func(*kgo.Record, error)) {
	a.cl.Produce(ctx, r, p)
}

func (a *alosSession) flush(ctx context.Context) error { return a.cl.Flush(ctx) }

func (a *alosSession) end(ctx context.Context, commit bool) (bool, error) {
	defer a.cl.AllowRebalance()
	if err := a.cl.Flush(ctx); err != nil {
		return false, fmt.Errorf("unable to flush outputs: %w", err)
	}
	if !commit {
		// Rewind to the last commit so the batch is consumed again.
		a.cl.SetOffsets(a.committed())
		return false, nil
	}
	if err := a.cl.CommitUncommittedOffsets(ctx); err != nil {
		a.cl.SetOffsets(a.committed())
		return false, nil
	}
	return true, nil
}

func (a *alosSession) committed() map[string]map[int32]kgo.EpochOffset {
	return a.cl.CommittedOffsets()
}

func (a *alosSession) close() { a.cl.CloseAllowingRebalance() }
