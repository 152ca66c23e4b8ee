package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/services/internal/sqldb"
)

// ddl is the schema, in SQL that SQLite and PostgreSQL both take.
const ddl = `
CREATE TABLE IF NOT EXISTS items (
	sku      TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	on_hand  BIGINT NOT NULL CHECK (on_hand >= 0),
	reserved BIGINT NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE TABLE IF NOT EXISTS reservations (
	order_id TEXT PRIMARY KEY,
	lines    TEXT NOT NULL -- JSON array of {SKU, Quantity}
);`

// SQLStore is a Store in SQL: an SQLite file, or PostgreSQL, where any
// number of inventory replicas share it. Every change is one transaction
// that locks the rows it reads (FOR UPDATE on PostgreSQL; SQLite's write
// transactions exclude each other), so no reservation is lost or doubled.
type SQLStore struct {
	sqldb.Tables // Close, SetTimeout, Ready
}

// OpenSQLite opens (creating) the inventory database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	db, err := sqldb.OpenSQLite(ctx, path, ddl)
	if err != nil {
		return nil, err
	}
	return &SQLStore{sqldb.Tables{DB: db}}, nil
}

// OpenPostgres opens the inventory tables in schema of the PostgreSQL
// database at url, creating them when missing.
func OpenPostgres(ctx context.Context, url, schema string) (*SQLStore, error) {
	db, err := sqldb.OpenPostgres(ctx, url, schema, ddl)
	if err != nil {
		return nil, err
	}
	return &SQLStore{sqldb.Tables{DB: db}}, nil
}

const itemColumns = `sku, name, on_hand, reserved`

type scanner interface{ Scan(dest ...any) error }

func scanItem(r scanner) (*inventoryv1.Item, error) {
	it := &inventoryv1.Item{}
	if err := r.Scan(&it.Sku, &it.Name, &it.QuantityOnHand, &it.QuantityReserved); err != nil {
		return nil, err
	}
	return it, nil
}

type rowQuerier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// getItem reads one item; in a transaction, it also locks it.
func (s *SQLStore) getItem(ctx context.Context, q rowQuerier, sku string) (*inventoryv1.Item, error) {
	query := `SELECT ` + itemColumns + ` FROM items WHERE sku = ?`
	if _, inTx := q.(*sql.Tx); inTx {
		query += s.DB.ForUpdate()
	}
	it, err := scanItem(q.QueryRowContext(ctx, s.DB.Q(query), sku))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, sku string) (*inventoryv1.Item, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	return s.getItem(ctx, s.DB, sku)
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context) ([]*inventoryv1.Item, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	rows, err := s.DB.QueryContext(ctx, `SELECT `+itemColumns+` FROM items ORDER BY sku`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*inventoryv1.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Adjust implements Store.
func (s *SQLStore) Adjust(ctx context.Context, sku, name string, delta int64) (*inventoryv1.Item, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	var out *inventoryv1.Item
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		it, err := s.getItem(ctx, tx, sku)
		if errors.Is(err, ErrNotFound) {
			it, err = &inventoryv1.Item{Sku: sku, Name: name}, nil
		}
		if err != nil {
			return err
		}
		next, err := adjusted(it, delta)
		if err != nil {
			return err
		}
		it.QuantityOnHand = next
		if _, err := tx.ExecContext(ctx, s.DB.Q(`INSERT INTO items (sku, name, on_hand) VALUES (?, ?, ?)
			ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand`), sku, it.GetName(), next); err != nil {
			return err
		}
		out = it
		return nil
	})
	return out, err
}

// Upsert implements Store.
func (s *SQLStore) Upsert(ctx context.Context, item *inventoryv1.Item) (*inventoryv1.Item, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	var out *inventoryv1.Item
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		it, err := s.getItem(ctx, tx, item.GetSku())
		if errors.Is(err, ErrNotFound) {
			it, err = &inventoryv1.Item{Sku: item.GetSku()}, nil
		}
		if err != nil {
			return err
		}
		if err := settable(it, item.GetQuantityOnHand()); err != nil {
			return err
		}
		it.Name, it.QuantityOnHand = item.GetName(), item.GetQuantityOnHand()
		if _, err := tx.ExecContext(ctx, s.DB.Q(`INSERT INTO items (sku, name, on_hand) VALUES (?, ?, ?)
			ON CONFLICT (sku) DO UPDATE SET name = excluded.name, on_hand = excluded.on_hand`),
			it.GetSku(), it.GetName(), it.GetQuantityOnHand()); err != nil {
			return err
		}
		out = it
		return nil
	})
	return out, err
}

// lockLines totals an order's lines by SKU and, on PostgreSQL, locks their
// items in one sorted pass: two replicas reserving or releasing overlapping
// orders then queue instead of deadlocking.
func (s *SQLStore) lockLines(ctx context.Context, tx *sql.Tx, lines []Line) (need map[string]int64, order []string, err error) {
	need, order, err = needs(lines)
	if err != nil || !s.DB.Postgres() {
		return need, order, err
	}
	_, err = tx.ExecContext(ctx, `SELECT 1 FROM items WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, slices.Sorted(slices.Values(order)))
	return need, order, err
}

// Release implements Store.
func (s *SQLStore) Release(ctx context.Context, orderID string) ([]*inventoryv1.Item, bool, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	var changed []*inventoryv1.Item
	released := false
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		changed, released = nil, false
		var linesJSON string
		err := tx.QueryRowContext(ctx, s.DB.Q(`SELECT lines FROM reservations WHERE order_id = ?`+s.DB.ForUpdate()), orderID).Scan(&linesJSON)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var lines []Line
		if err := json.Unmarshal([]byte(linesJSON), &lines); err != nil {
			return err
		}
		need, order, err := s.lockLines(ctx, tx, lines)
		if err != nil {
			return err
		}
		for _, sku := range order {
			it, err := s.getItem(ctx, tx, sku)
			if err != nil {
				return err
			}
			it.QuantityReserved = max(it.GetQuantityReserved()-need[sku], 0)
			if _, err := tx.ExecContext(ctx, s.DB.Q(`UPDATE items SET reserved = ? WHERE sku = ?`), it.GetQuantityReserved(), sku); err != nil {
				return err
			}
			changed = append(changed, it)
		}
		if _, err := tx.ExecContext(ctx, s.DB.Q(`DELETE FROM reservations WHERE order_id = ?`), orderID); err != nil {
			return err
		}
		released = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return changed, released, nil
}

// Reserve implements Store.
func (s *SQLStore) Reserve(ctx context.Context, orderID string, lines []Line) ([]*inventoryv1.Item, bool, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	var changed []*inventoryv1.Item
	replayed := false
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var prevJSON string
		err := tx.QueryRowContext(ctx, s.DB.Q(`SELECT lines FROM reservations WHERE order_id = ?`), orderID).Scan(&prevJSON)
		if err == nil {
			var prev []Line
			if err := json.Unmarshal([]byte(prevJSON), &prev); err != nil {
				return err
			}
			if !slices.Equal(prev, lines) {
				return ErrReservationDiffer
			}
			replayed = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		need, order, err := s.lockLines(ctx, tx, lines)
		if err != nil {
			return err
		}
		for _, sku := range order {
			it, err := s.getItem(ctx, tx, sku)
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("sku %s: %w", sku, ErrNotFound)
			}
			if err != nil {
				return err
			}
			if it.GetQuantityOnHand()-it.GetQuantityReserved() < need[sku] {
				return fmt.Errorf("sku %s: %w", sku, ErrInsufficientStock)
			}
			it.QuantityReserved += need[sku]
			if _, err := tx.ExecContext(ctx, s.DB.Q(`UPDATE items SET reserved = ? WHERE sku = ?`), it.GetQuantityReserved(), sku); err != nil {
				return err
			}
			changed = append(changed, it)
		}
		b, err := json.Marshal(lines)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.DB.Q(`INSERT INTO reservations (order_id, lines) VALUES (?, ?)`), orderID, string(b))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return changed, replayed, nil
}
