package issuer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"time"
)

// Store keeps what the issuer must not lose and what its replicas must
// agree on: the registered clients, the signing keys and their schedule, and
// the jti of every client assertion accepted. Every change is a
// read-modify-write of the latest stored state, atomic against every other
// process sharing the store (the running issuer, `tollgate client` and
// `tollgate issuer keys` commands, other replicas), so none loses another's
// change.
//
// The embedded backend is [DirStore] (files and SQLite in a data
// directory). The issuer keeps what it reads in memory: token requests never
// wait on the store, except to record an assertion's jti.
type Store interface {
	// Clients returns every registered client, valid, by ID.
	Clients(ctx context.Context) (map[string]*Client, error)
	// UpdateClients applies fn to the latest clients and stores the
	// result, which it returns. Nothing is stored when fn fails or leaves
	// an invalid client.
	UpdateClients(ctx context.Context, fn func(clients map[string]*Client) error) (map[string]*Client, error)
	// Keys returns the signing keys, oldest first; none before the first
	// was made.
	Keys(ctx context.Context) ([]*SigningKey, error)
	// UpdateKeys applies fn to the latest keys and stores what it returns
	// when it reports a change; it returns the keys now stored.
	UpdateKeys(ctx context.Context, fn func(keys []*SigningKey) (next []*SigningKey, changed bool, err error)) ([]*SigningKey, error)
	// UseAssertion records that client used an assertion with jti, to be
	// remembered until until. It reports false when that jti is already
	// recorded and not forgotten at now. An error means nothing could be
	// recorded, and the assertion must be refused.
	UseAssertion(ctx context.Context, client, jti string, until, now time.Time) (first bool, err error)
	// Revoke stores revocations, each with the next Seq, and drops those
	// no longer in force at now.
	Revoke(ctx context.Context, rs []Revocation, now time.Time) error
	// Revocations returns the ID of the store's revocation log and the
	// revocations in force at now whose Seq is above after, in Seq order.
	// Seqs compare only within one log.
	Revocations(ctx context.Context, after int64, now time.Time) (log string, rs []Revocation, err error)
	// Revision returns stamps that change whenever the clients or the keys
	// change, so that a process can reload what another one wrote.
	Revision(ctx context.Context) (clients, keys string, err error)
	// Ready reports whether the store can be used now (readiness probes).
	Ready(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Copy fills dst, which must hold no clients and no keys, with the clients,
// signing keys and revocations in force of src (tollgate issuer migrate),
// and says how many. The revocations get dst's own log and Seqs:
// verifiers that followed src read them whole from dst's feed.
func Copy(ctx context.Context, src, dst Store, now time.Time) (clients, keys, revocations int, err error) {
	srcClients, err := src.Clients(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	srcKeys, err := src.Keys(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	_, srcRevoked, err := src.Revocations(ctx, 0, now)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(srcKeys) == 0 {
		return 0, 0, 0, fmt.Errorf("the source holds no signing keys: %w", errNoKeys)
	}
	if have, err := dst.Clients(ctx); err != nil || len(have) > 0 {
		return 0, 0, 0, errors.Join(err, fmt.Errorf("the destination already holds %d clients; migrate into an empty store", len(have)))
	}
	_, err = dst.UpdateKeys(ctx, func(have []*SigningKey) ([]*SigningKey, bool, error) {
		if len(have) > 0 {
			return nil, false, fmt.Errorf("the destination already holds %d signing keys; migrate into an empty store", len(have))
		}
		return srcKeys, true, nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	_, err = dst.UpdateClients(ctx, func(m map[string]*Client) error {
		maps.Copy(m, srcClients)
		return nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	if len(srcRevoked) > 0 {
		if err := dst.Revoke(ctx, srcRevoked, now); err != nil {
			return 0, 0, 0, err
		}
	}
	return len(srcClients), len(srcKeys), len(srcRevoked), nil
}

// checkClients validates stored clients and indexes them by ID. where names
// the store in errors.
func checkClients(list []*Client, where string) (map[string]*Client, error) {
	out := make(map[string]*Client, len(list))
	for _, c := range list {
		if len(c.DefaultAudiences) > 1 {
			// Written before tokens were audience-restricted: such a client
			// now names the audience it wants.
			c.DefaultAudiences = nil
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if _, dup := out[c.ID]; dup {
			return nil, fmt.Errorf("%s: client %s listed twice", where, c.ID)
		}
		out[c.ID] = c
	}
	return out, nil
}

// sortedClients returns the clients ordered by ID, each validated.
func sortedClients(clients map[string]*Client) ([]*Client, error) {
	list := make([]*Client, 0, len(clients))
	for id, c := range clients {
		if c == nil || c.ID != id {
			return nil, fmt.Errorf("client %q stored under ID %q", clientID(c), id)
		}
		if err := c.Validate(); err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return list, nil
}

func clientID(c *Client) string {
	if c == nil {
		return ""
	}
	return c.ID
}

// errNoKeys is returned when a store holds no signing keys.
var errNoKeys = errors.New("no signing keys")
