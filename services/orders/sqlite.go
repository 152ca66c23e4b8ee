package orders

import (
	"context"
	"database/sql"
	"errors"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/services/internal/sqlitedb"
	"google.golang.org/protobuf/encoding/protojson"
)

const schema = `
CREATE TABLE IF NOT EXISTS orders (
	order_id TEXT PRIMARY KEY,
	state    INTEGER NOT NULL,
	body     TEXT NOT NULL -- the order as protobuf JSON
);`

// SQLiteStore is a Store in an SQLite database file.
type SQLiteStore struct {
	db *sql.DB
}

// OpenSQLite opens (creating) the orders database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	db, err := sqlitedb.Open(ctx, path, schema)
	if err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db}, nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

func get(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*ordersv1.Order, error) {
	var body string
	err := q.QueryRowContext(ctx, `SELECT body FROM orders WHERE order_id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	o := &ordersv1.Order{}
	return o, protojson.Unmarshal([]byte(body), o)
}

// Get implements Store.
func (s *SQLiteStore) Get(ctx context.Context, id string) (*ordersv1.Order, error) {
	return get(ctx, s.db, id)
}

// Create implements Store.
func (s *SQLiteStore) Create(ctx context.Context, o *ordersv1.Order) (*ordersv1.Order, bool, error) {
	body, err := protojson.Marshal(o)
	if err != nil {
		return nil, false, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO orders (order_id, state, body) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
		o.GetOrderId(), int32(o.GetState()), string(body))
	if err != nil {
		return nil, false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		prev, err := s.Get(ctx, o.GetOrderId())
		return prev, false, err
	}
	return clone(o), true, nil
}

// Transition implements Store.
func (s *SQLiteStore) Transition(ctx context.Context, id string, from, to ordersv1.OrderState) (*ordersv1.Order, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	o, err := get(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if o.GetState() != from {
		return nil, ErrConflict
	}
	o.State = to
	body, err := protojson.Marshal(o)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET state = ?, body = ? WHERE order_id = ?`, int32(to), string(body), id); err != nil {
		return nil, err
	}
	return o, tx.Commit()
}

// Open implements Store.
func (s *SQLiteStore) Open(ctx context.Context) ([]*ordersv1.Order, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM orders WHERE state = ? ORDER BY order_id`, int32(ordersv1.OrderState_ORDER_STATE_RESERVED))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ordersv1.Order
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		o := &ordersv1.Order{}
		if err := protojson.Unmarshal([]byte(body), o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
