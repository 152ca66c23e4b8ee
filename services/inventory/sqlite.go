package inventory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/services/internal/sqlitedb"
)

const schema = `
CREATE TABLE IF NOT EXISTS items (
	sku      TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	on_hand  INTEGER NOT NULL CHECK (on_hand >= 0),
	reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand)
);
CREATE TABLE IF NOT EXISTS reservations (
	order_id TEXT PRIMARY KEY,
	lines    TEXT NOT NULL -- JSON array of {SKU, Quantity}
);`

// SQLiteStore is a Store in an SQLite database file.
type SQLiteStore struct {
	db *sql.DB
}

// OpenSQLite opens (creating) the inventory database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.Open(ctx, path, schema)
	if err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

const itemColumns = `sku, name, on_hand, reserved`

type scanner interface{ Scan(dest ...any) error }

func scanItem(r scanner) (*inventoryv1.Item, error) {
	it := &inventoryv1.Item{}
	if err := r.Scan(&it.Sku, &it.Name, &it.QuantityOnHand, &it.QuantityReserved); err != nil {
		return nil, err
	}
	return it, nil
}

func getItem(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, sku string) (*inventoryv1.Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE sku = ?`, sku))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return it, err
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, sku string) (*inventoryv1.Item, error) {
	return getItem(ctx, s.db, sku)
}

// List implements Store.
func (s *SQLiteStore) List(ctx context.Context) ([]*inventoryv1.Item, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+` FROM items ORDER BY sku`)
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

// inTx runs fn in one write transaction.
func (s *SQLiteStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Adjust implements Store.
func (s *SQLiteStore) Adjust(ctx context.Context, sku, name string, delta int64) (*inventoryv1.Item, error) {
	var out *inventoryv1.Item
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		it, err := getItem(ctx, tx, sku)
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (sku, name, on_hand) VALUES (?, ?, ?)
			ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand`, sku, it.GetName(), next); err != nil {
			return err
		}
		out = it
		return nil
	})
	return out, err
}

// Upsert implements Store.
func (s *SQLiteStore) Upsert(ctx context.Context, item *inventoryv1.Item) (*inventoryv1.Item, error) {
	var out *inventoryv1.Item
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		it, err := getItem(ctx, tx, item.GetSku())
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (sku, name, on_hand) VALUES (?, ?, ?)
			ON CONFLICT (sku) DO UPDATE SET name = excluded.name, on_hand = excluded.on_hand`,
			it.GetSku(), it.GetName(), it.GetQuantityOnHand()); err != nil {
			return err
		}
		out = it
		return nil
	})
	return out, err
}

// Reserve implements Store.
func (s *SQLiteStore) Reserve(ctx context.Context, orderID string, lines []Line) ([]*inventoryv1.Item, bool, error) {
	var changed []*inventoryv1.Item
	replayed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var prevJSON string
		err := tx.QueryRowContext(ctx, `SELECT lines FROM reservations WHERE order_id = ?`, orderID).Scan(&prevJSON)
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
		need, order, err := needs(lines)
		if err != nil {
			return err
		}
		for _, sku := range order {
			it, err := getItem(ctx, tx, sku)
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
			if _, err := tx.ExecContext(ctx, `UPDATE items SET reserved = ? WHERE sku = ?`, it.GetQuantityReserved(), sku); err != nil {
				return err
			}
			changed = append(changed, it)
		}
		b, err := json.Marshal(lines)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO reservations (order_id, lines) VALUES (?, ?)`, orderID, string(b))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return changed, replayed, nil
}
