package issuer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The jti records of private_key_jwt are written in batches on PostgreSQL:
// concurrent token requests share one INSERT and one commit (group commit),
// so a replica pays a round trip and a WAL flush per batch rather than per
// request, and every record is still durable (synchronous commit) before
// its token is issued. A request never waits for a batch to fill: a writer
// takes whatever is queued the moment a connection is free, so alone it is
// a batch of one.

// maxAssertionBatch bounds the records written by one statement.
const maxAssertionBatch = 256

// assertionWriters is how many batches may be in flight at once (each
// holds a pool connection).
const assertionWriters = 2

// batchTimeout bounds one batch's statement, whoever is waiting for it.
const batchTimeout = 10 * time.Second

// assertionUse is one request's jti to record, and where its answer goes.
type assertionUse struct {
	client, jti string
	until, now  time.Time
	done        chan assertionResult // buffered: a writer never blocks on it
}

type assertionResult struct {
	fresh bool
	err   error
}

// assertionBatcher queues jti records and runs the writers.
type assertionBatcher struct {
	write func(ctx context.Context, batch []*assertionUse) // answers every record

	mu      sync.Mutex
	queue   []*assertionUse
	writers int  // writers running
	closed  bool // no new records
	idle    sync.WaitGroup
}

var errStoreClosed = errors.New("store closed")

// use records one jti and reports whether it was fresh.
func (b *assertionBatcher) use(ctx context.Context, u *assertionUse) (bool, error) {
	u.done = make(chan assertionResult, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false, errStoreClosed
	}
	b.queue = append(b.queue, u)
	if b.writers < assertionWriters {
		b.writers++
		b.idle.Add(1)
		go b.run()
	}
	b.mu.Unlock()
	select {
	case r := <-u.done:
		return r.fresh, r.err
	case <-ctx.Done():
		// The record may still be written: the jti is then spent, which
		// refuses nothing a client could legitimately retry.
		return false, ctx.Err()
	}
}

// run writes batches until the queue is empty.
func (b *assertionBatcher) run() {
	defer b.idle.Done()
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxAssertionBatch)
		if n == 0 {
			b.writers--
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		b.write(ctx, batch)
		cancel()
	}
}

// close refuses new records and waits for the batches in flight.
func (b *assertionBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.idle.Wait()
}

// dedupe answers the repeats of a (client, jti) pair within batch as
// replays and returns the first of each pair: one statement cannot upsert
// the same row twice, and of two identical assertions only one may pass.
func dedupe(batch []*assertionUse) []*assertionUse {
	seen := make(map[[2]string]bool, len(batch))
	out := batch[:0:0]
	for _, u := range batch {
		k := [2]string{u.client, u.jti}
		if seen[k] {
			u.done <- assertionResult{fresh: false}
			continue
		}
		seen[k] = true
		out = append(out, u)
	}
	return out
}

// UseAssertion implements [Store]: the record is one upsert, so that two
// replicas presented the same assertion at once cannot both accept it,
// written in a batch with the concurrent requests' records.
func (s *PGStore) UseAssertion(ctx context.Context, client, jti string, until, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	return s.assertions.use(ctx, &assertionUse{client: client, jti: jti, until: until, now: now})
}

// writeAssertions records a batch of jti in one statement and answers each.
// A record may be replaced only once it has expired; the batch's earliest
// "now" decides that, so batching never accepts what one-by-one would refuse.
func (s *PGStore) writeAssertions(ctx context.Context, batch []*assertionUse) {
	ctx, cancel := context.WithTimeout(ctx, StoreTimeout)
	defer cancel()
	batch = dedupe(batch)
	clients, jtis, untils := make([]string, len(batch)), make([]string, len(batch)), make([]time.Time, len(batch))
	now := batch[0].now
	for i, u := range batch {
		clients[i], jtis[i], untils[i] = u.client, u.jti, u.until
		if u.now.Before(now) {
			now = u.now
		}
	}
	fresh, err := s.insertAssertions(ctx, clients, jtis, untils, now)
	for _, u := range batch {
		u.done <- assertionResult{fresh: fresh[[2]string{u.client, u.jti}], err: err}
	}
}

func (s *PGStore) insertAssertions(ctx context.Context, clients, jtis []string, untils []time.Time, now time.Time) (map[[2]string]bool, error) {
	s.mu.Lock()
	prune := now.Sub(s.pruned) >= replayPruneEvery
	if prune {
		s.pruned = now
	}
	s.mu.Unlock()
	if prune {
		if _, err := s.pool.Exec(ctx, "DELETE FROM used_assertions WHERE until < $1", now); err != nil {
			return nil, fmt.Errorf("prune assertion records: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO used_assertions (client_id, jti, until)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
		ON CONFLICT (client_id, jti) DO UPDATE SET until = excluded.until WHERE used_assertions.until < $4
		RETURNING client_id, jti`, clients, jtis, untils, now)
	if err != nil {
		return nil, fmt.Errorf("record assertion: %w", err)
	}
	fresh := make(map[[2]string]bool, len(clients))
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("record assertion: %w", err)
		}
		fresh[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record assertion: %w", err)
	}
	return fresh, nil
}
