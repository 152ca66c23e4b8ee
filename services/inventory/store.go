package inventory

import (
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
)

// Line is a quantity of one SKU.
type Line struct {
	SKU      string
	Quantity int64
}

// Store keeps items and reservations. Implementations are safe for
// concurrent use and return copies that callers may keep.
type Store interface {
	Get(sku string) (*inventoryv1.Item, error)
	List() ([]*inventoryv1.Item, error)
	// Adjust adds delta to on-hand stock, creating the item with name when
	// missing. It fails with ErrInsufficientStock rather than let on-hand
	// stock drop below zero or below the reserved quantity.
	Adjust(sku, name string, delta int64) (*inventoryv1.Item, error)
	// Upsert sets an item's name and on-hand quantity.
	Upsert(item *inventoryv1.Item) (*inventoryv1.Item, error)
	// Reserve reserves every line or none. A second call with the same
	// order ID and lines changes nothing and reports replayed.
	Reserve(orderID string, lines []Line) (changed []*inventoryv1.Item, replayed bool, err error)
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
func (m *MemoryStore) Get(sku string) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[sku]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(it), nil
}

// List implements Store.
func (m *MemoryStore) List() ([]*inventoryv1.Item, error) {
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
func (m *MemoryStore) Adjust(sku, name string, delta int64) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[sku]
	if !ok {
		it = &inventoryv1.Item{Sku: sku, Name: name}
	}
	next := it.GetQuantityOnHand() + delta
	if next < 0 || next < it.GetQuantityReserved() {
		return nil, ErrInsufficientStock
	}
	it.QuantityOnHand = next
	m.items[sku] = it
	return clone(it), nil
}

// Upsert implements Store.
func (m *MemoryStore) Upsert(item *inventoryv1.Item) (*inventoryv1.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[item.GetSku()]
	if !ok {
		it = &inventoryv1.Item{Sku: item.GetSku()}
	}
	if item.GetQuantityOnHand() < it.GetQuantityReserved() {
		return nil, ErrInsufficientStock
	}
	it.Name, it.QuantityOnHand = item.GetName(), item.GetQuantityOnHand()
	m.items[it.Sku] = it
	return clone(it), nil
}

// Reserve implements Store.
func (m *MemoryStore) Reserve(orderID string, lines []Line) ([]*inventoryv1.Item, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.reservations[orderID]; ok {
		if !slices.Equal(prev, lines) {
			return nil, false, ErrReservationDiffer
		}
		return nil, true, nil
	}
	need := map[string]int64{}
	for _, l := range lines {
		need[l.SKU] += l.Quantity
	}
	for sku, q := range need {
		it, ok := m.items[sku]
		if !ok {
			return nil, false, fmt.Errorf("sku %s: %w", sku, ErrNotFound)
		}
		if it.GetQuantityOnHand()-it.GetQuantityReserved() < q {
			return nil, false, fmt.Errorf("sku %s: %w", sku, ErrInsufficientStock)
		}
	}
	changed := make([]*inventoryv1.Item, 0, len(need))
	for sku, q := range need {
		it := m.items[sku]
		it.QuantityReserved += q
		changed = append(changed, clone(it))
	}
	m.reservations[orderID] = slices.Clone(lines)
	return changed, false, nil
}
