package orders

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

func TestStoreContract(t *testing.T) {
	open := map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemoryStore() },
		"sqlite": func(t *testing.T) Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "orders.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) Store {
			url := pgtest.URL(t)
			s, err := OpenPostgres(t.Context(), url, pgtest.Schema(t, url))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
	for name, mk := range open {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			o := &ordersv1.Order{OrderId: "o1", State: ordersv1.OrderState_ORDER_STATE_RESERVED, PlacedBy: "c",
				Lines: []*ordersv1.OrderLine{{Sku: "a", Quantity: 2}}}
			if _, created, err := s.Create(t.Context(), o); err != nil || !created {
				t.Fatalf("Create = %v, %v", created, err)
			}
			other := &ordersv1.Order{OrderId: "o1", State: ordersv1.OrderState_ORDER_STATE_RESERVED}
			if prev, created, err := s.Create(t.Context(), other); err != nil || created || len(prev.GetLines()) != 1 {
				t.Errorf("second Create = %v, %v, %v; want the first order back", prev, created, err)
			}
			if _, err := s.Transition(t.Context(), "o1", ordersv1.OrderState_ORDER_STATE_PACKED, ordersv1.OrderState_ORDER_STATE_SHIPPED); !errors.Is(err, ErrConflict) {
				t.Errorf("Transition from the wrong state = %v, want ErrConflict", err)
			}
			got, err := s.Transition(t.Context(), "o1", ordersv1.OrderState_ORDER_STATE_RESERVED, ordersv1.OrderState_ORDER_STATE_PACKED)
			if err != nil || got.GetState() != ordersv1.OrderState_ORDER_STATE_PACKED {
				t.Errorf("Transition = %v, %v", got, err)
			}
			if _, err := s.Get(t.Context(), "nope"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(missing) = %v", err)
			}
			if _, _, err := s.Create(t.Context(), &ordersv1.Order{OrderId: "o2", State: ordersv1.OrderState_ORDER_STATE_RESERVED}); err != nil {
				t.Fatal(err)
			}
			if openOrders, err := s.Open(t.Context()); err != nil || len(openOrders) != 1 || openOrders[0].GetOrderId() != "o2" {
				t.Errorf("Open = %v, %v; want only o2", openOrders, err)
			}
		})
	}
}
