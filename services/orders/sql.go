package orders

import (
	"context"
	"database/sql"
	"errors"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/services/internal/sqldb"
	"google.golang.org/protobuf/encoding/protojson"
)

// ddl is the schema, in SQL that SQLite and PostgreSQL both take.
const ddl = `
CREATE TABLE IF NOT EXISTS orders (
	order_id TEXT PRIMARY KEY,
	state    BIGINT NOT NULL,
	body     TEXT NOT NULL -- the order as protobuf JSON
);`

// SQLStore is a Store in SQL: an SQLite file, or PostgreSQL, shared by any
// number of orders replicas. A transition locks its order's row (FOR UPDATE
// on PostgreSQL), so two replicas cannot both move one order.
type SQLStore struct {
	sqldb.Tables // Close, SetTimeout, Ready
}

// OpenSQLite opens (creating) the orders database at path.
func OpenSQLite(ctx context.Context, path string) (*SQLStore, error) {
	db, err := sqldb.OpenSQLite(ctx, path, ddl)
	if err != nil {
		return nil, err
	}
	return &SQLStore{sqldb.Tables{DB: db}}, nil
}

// OpenPostgres opens the orders table in schema of the PostgreSQL database
// at url, creating it when missing.
func OpenPostgres(ctx context.Context, url, schema string) (*SQLStore, error) {
	db, err := sqldb.OpenPostgres(ctx, url, schema, ddl)
	if err != nil {
		return nil, err
	}
	return &SQLStore{sqldb.Tables{DB: db}}, nil
}

// get reads one order; in a transaction, it also locks it.
func (s *SQLStore) get(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*ordersv1.Order, error) {
	query := `SELECT body FROM orders WHERE order_id = ?`
	if _, inTx := q.(*sql.Tx); inTx {
		query += s.DB.ForUpdate()
	}
	var body string
	err := q.QueryRowContext(ctx, s.DB.Q(query), id).Scan(&body)
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
func (s *SQLStore) Get(ctx context.Context, id string) (*ordersv1.Order, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	return s.get(ctx, s.DB, id)
}

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, o *ordersv1.Order) (*ordersv1.Order, bool, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	body, err := protojson.Marshal(o)
	if err != nil {
		return nil, false, err
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Q(`INSERT INTO orders (order_id, state, body) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`),
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
func (s *SQLStore) Transition(ctx context.Context, id string, from, to ordersv1.OrderState) (*ordersv1.Order, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	var out *ordersv1.Order
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		o, err := s.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if o.GetState() != from {
			return ErrConflict
		}
		o.State = to
		body, err := protojson.Marshal(o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.DB.Q(`UPDATE orders SET state = ?, body = ? WHERE order_id = ?`), int32(to), string(body), id); err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

// Open implements Store.
func (s *SQLStore) Open(ctx context.Context) ([]*ordersv1.Order, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	rows, err := s.DB.QueryContext(ctx, s.DB.Q(`SELECT body FROM orders WHERE state IN (?, ?) ORDER BY order_id`),
		int32(ordersv1.OrderState_ORDER_STATE_RESERVED), int32(ordersv1.OrderState_ORDER_STATE_PENDING))
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

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, id string, state ordersv1.OrderState) (bool, error) {
	ctx, cancel := s.DB.Bound(ctx)
	defer cancel()
	res, err := s.DB.ExecContext(ctx, s.DB.Q(`DELETE FROM orders WHERE order_id = ? AND state = ?`), id, int32(state))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
