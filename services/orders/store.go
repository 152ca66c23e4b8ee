package orders

import (
	"context"
	"errors"
	"sort"
	"sync"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"google.golang.org/protobuf/proto"
)

// Store errors.
var (
	ErrNotFound = errors.New("order not found")
	ErrConflict = errors.New("order state changed concurrently")
)

// Store keeps orders. Implementations are safe for concurrent use, return
// copies, and stop work for a cancelled ctx (the RPC's).
type Store interface {
	Get(ctx context.Context, id string) (*ordersv1.Order, error)
	// Create stores o unless an order with its ID exists, in which case it
	// returns the existing order and false.
	Create(ctx context.Context, o *ordersv1.Order) (*ordersv1.Order, bool, error)
	// Transition moves an order from one state to another, failing with
	// ErrConflict when it is not in from.
	Transition(ctx context.Context, id string, from, to ordersv1.OrderState) (*ordersv1.Order, error)
	// Open returns the orders still RESERVED or PENDING, by ID.
	Open(ctx context.Context) ([]*ordersv1.Order, error)
	// Delete removes the order if it is in state, and reports whether it
	// did.
	Delete(ctx context.Context, id string, state ordersv1.OrderState) (bool, error)
}

// open reports whether the reconciler looks at orders in state s.
func open(s ordersv1.OrderState) bool {
	return s == ordersv1.OrderState_ORDER_STATE_RESERVED || s == ordersv1.OrderState_ORDER_STATE_PENDING
}

// MemoryStore is a Store in memory.
type MemoryStore struct {
	mu     sync.Mutex
	orders map[string]*ordersv1.Order
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{orders: map[string]*ordersv1.Order{}} }

func clone(o *ordersv1.Order) *ordersv1.Order { return proto.Clone(o).(*ordersv1.Order) }

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (*ordersv1.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(o), nil
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, o *ordersv1.Order) (*ordersv1.Order, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.orders[o.GetOrderId()]; ok {
		return clone(prev), false, nil
	}
	m.orders[o.GetOrderId()] = clone(o)
	return clone(o), true, nil
}

// Transition implements Store.
func (m *MemoryStore) Transition(_ context.Context, id string, from, to ordersv1.OrderState) (*ordersv1.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return nil, ErrNotFound
	}
	if o.GetState() != from {
		return nil, ErrConflict
	}
	o.State = to
	return clone(o), nil
}

// Open implements Store.
func (m *MemoryStore) Open(context.Context) ([]*ordersv1.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*ordersv1.Order
	for _, o := range m.orders {
		if open(o.GetState()) {
			out = append(out, clone(o))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetOrderId() < out[j].GetOrderId() })
	return out, nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, id string, state ordersv1.OrderState) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.orders[id]; !ok || o.GetState() != state {
		return false, nil
	}
	delete(m.orders, id)
	return true, nil
}
