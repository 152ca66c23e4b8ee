package inventory

import (
	"context"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
)

// SeedDemo stores the dev suite's demo items when the store is empty.
func SeedDemo(ctx context.Context, store Store) error {
	items, err := store.List(ctx)
	if err != nil || len(items) > 0 {
		return err
	}
	for _, it := range []struct {
		sku, name string
		qty       int64
	}{
		{"widget-1", "Widget", 100},
		{"gadget-2", "Gadget", 50},
		{"gizmo-3", "Gizmo", 10},
	} {
		// Set, not added: replicas starting together on one database
		// seed the same stock once, not once each.
		if _, err := store.Upsert(ctx, &inventoryv1.Item{Sku: it.sku, Name: it.name, QuantityOnHand: it.qty}); err != nil {
			return err
		}
	}
	return nil
}
