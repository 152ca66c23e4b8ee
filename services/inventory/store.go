package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"google.golang.org/protobuf/proto"
)

// Store errors, mapped to gRPC codes by the service.
var (
	ErrNotFound          = errors.New("item not found")
	ErrInsufficientStock = errors.New("insufficient stock")
	ErrReservationDiffer = errors.New("order already reserved with different lines")
	ErrQuantityLimit     = errors.New("quantity out of range")
)

var errOnHandLimit = fmt.Errorf("on-hand stock must stay within 0..%d: %w", int64(MaxOnHand), ErrQuantityLimit)

// MaxOnHand bounds an item's on-hand (and so its reserved) quantity. The
// stores keep 0 ≤ reserved ≤ on hand ≤ MaxOnHand whatever they are asked.
const MaxOnHand = 1_000_000_000_000

// adjusted returns on-hand stock after adding delta, or why it cannot be.
func adjusted(it *inventoryv1.Item, delta int64) (int64, error) {
	next, ok := add(it.GetQuantityOnHand(), delta)
	switch {
	case !ok || next > MaxOnHand:
		return 0, errOnHandLimit
	case next < 0 || next < it.GetQuantityReserved():
		return 0, ErrInsufficientStock
	}
	return next, nil
}

// needs sums the lines per SKU, in the order SKUs first appear, refusing a
// non-positive quantity or a sum beyond MaxOnHand.
func needs(lines []Line) (need map[string]int64, order []string, err error) {
	need = make(map[string]int64, len(lines))
	for _, l := range lines {
		if l.Quantity < 1 {
			return nil, nil, fmt.Errorf("sku %s: a line's quantity must be at least 1: %w", l.SKU, ErrQuantityLimit)
		}
		prev, seen := need[l.SKU]
		if !seen {
			order = append(order, l.SKU)
		}
		sum, ok := add(prev, l.Quantity)
		if !ok || sum > MaxOnHand {
			return nil, nil, fmt.Errorf("sku %s: more than %d ordered: %w", l.SKU, int64(MaxOnHand), ErrQuantityLimit)
		}
		need[l.SKU] = sum
	}
	return need, order, nil
}

// settable reports whether it's on-hand stock may be set to onHand.
func settable(it *inventoryv1.Item, onHand int64) error {
	switch {
	case onHand < 0 || onHand > MaxOnHand:
		return errOnHandLimit
	case onHand < it.GetQuantityReserved():
		return ErrInsufficientStock
	}
	return nil
}

// add returns a+b and whether it did not overflow.
func add(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

// Line is a quantity of one SKU.
type Line struct {
	SKU      string
	Quantity int64
}

// Store keeps items and reservations. Implementations are safe for
// concurrent use, return copies that callers may keep, and stop work for a
// cancelled ctx (the RPC's).
type Store interface {
	Get(ctx context.Context, sku string) (*inventoryv1.Item, error)
	List(ctx context.Context) ([]*inventoryv1.Item, error)
	// Adjust adds delta to on-hand stock, creating the item with name when
	// missing. It fails with ErrInsufficientStock rather than let on-hand
	// stock drop below zero or below the reserved quantity.
	Adjust(ctx context.Context, sku, name string, delta int64) (*inventoryv1.Item, error)
	// Upsert sets an item's name and on-hand quantity.
	Upsert(ctx context.Context, item *inventoryv1.Item) (*inventoryv1.Item, error)
	// Reserve reserves every line or none. A second call with the same
	// order ID and lines changes nothing and reports replayed.
	Reserve(ctx context.Context, orderID string, lines []Line) (changed []*inventoryv1.Item, replayed bool, err error)
	// Release gives the order's reserved stock back and forgets its
	// reservation; released is false when it held none.
	Release(ctx context.Context, orderID string) (changed []*inventoryv1.Item, released bool, err error)
}

// MemoryStore is a Store in memory.
type MemoryStore struct {
	mu           sync.Mutex
	items        map[string]*inventoryv1.Item
	reservations map[string][]Line
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{items: map[string]*inventoryv1.Item{}, reservations: map[string][]Line{}}
}

func clone(it *inventoryv1.Item) *inventoryv1.Item { return proto.Clone(it).(*inventoryv1.Item) }

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, sku string) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[sku]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(it), nil
}

// List implements Store.
func (m *MemoryStore) List(context.Context) ([]*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*inventoryv1.Item, 0, len(m.items))
	for _, it := range m.items {
		out = append(out, clone(it))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetSku() < out[j].GetSku() })
	return out, nil
}

// Adjust implements Store.
func (m *MemoryStore) Adjust(_ context.Context, sku, name string, delta int64) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[sku]
	if !ok {
		it = &inventoryv1.Item{Sku: sku, Name: name}
	}
	next, err := adjusted(it, delta)
	if err != nil {
		return nil, err
	}
	it.QuantityOnHand = next
	m.items[sku] = it
	return clone(it), nil
}

// Upsert implements Store.
func (m *MemoryStore) Upsert(_ context.Context, item *inventoryv1.Item) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[item.GetSku()]
	if !ok {
		it = &inventoryv1.Item{Sku: item.GetSku()}
	}
	if err := settable(it, item.GetQuantityOnHand()); err != nil {
		return nil, err
	}
	it.Name, it.QuantityOnHand = item.GetName(), item.GetQuantityOnHand()
	m.items[it.Sku] = it
	return clone(it), nil
}

// Reserve implements Store.
func (m *MemoryStore) Reserve(_ context.Context, orderID string, lines []Line) ([]*inventoryv1.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.reservations[orderID]; ok {
		if !slices.Equal(prev, lines) {
			return nil, false, ErrReservationDiffer
		}
		return nil, true, nil
	}
	need, order, err := needs(lines)
	if err != nil {
		return nil, false, err
	}
	for _, sku := range order {
		it, ok := m.items[sku]
		if !ok {
			return nil, false, fmt.Errorf("sku %s: %w", sku, ErrNotFound)
		}
		if it.GetQuantityOnHand()-it.GetQuantityReserved() < need[sku] {
			return nil, false, fmt.Errorf("sku %s: %w", sku, ErrInsufficientStock)
		}
	}
	changed := make([]*inventoryv1.Item, 0, len(need))
	for _, sku := range order {
		it := m.items[sku]
		it.QuantityReserved += need[sku]
		changed = append(changed, clone(it))
	}
	m.reservations[orderID] = slices.Clone(lines)
	return changed, false, nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, orderID string) ([]*inventoryv1.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	lines, ok := m.reservations[orderID]
	if !ok {
		return nil, false, nil
	}
	need, order, err := needs(lines)
	if err != nil {
		return nil, false, err
	}
	changed := make([]*inventoryv1.Item, 0, len(need))
	for _, sku := range order {
		it := m.items[sku]
		it.QuantityReserved = max(it.GetQuantityReserved()-need[sku], 0)
		changed = append(changed, clone(it))
	}
	delete(m.reservations, orderID)
	return changed, true, nil
}
