package inventory

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The reproduction: lines that sum past MaxInt64 wrapped to a small
// number, reserved nothing and reported success (the memory store went to
// reserved = -2). Every store refuses them and keeps its invariants.
func TestQuantitiesNeverWrap(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		if _, err := s.Adjust(t.Context(), "gizmo-3", "Gizmo", 10); err != nil {
			t.Fatal(err)
		}
		wrap := []Line{{"gizmo-3", math.MaxInt64}, {"gizmo-3", math.MaxInt64}, {"gizmo-3", 2}}
		if _, _, err := s.Reserve(t.Context(), "o-wrap", wrap); !errors.Is(err, ErrQuantityLimit) {
			t.Errorf("Reserve(MaxInt64×2+2) = %v, want ErrQuantityLimit", err)
		}
		if _, _, err := s.Reserve(t.Context(), "o-neg", []Line{{"gizmo-3", -5}}); !errors.Is(err, ErrQuantityLimit) {
			t.Errorf("Reserve(-5) = %v, want ErrQuantityLimit", err)
		}
		for _, delta := range []int64{math.MaxInt64, math.MinInt64, MaxOnHand} {
			if _, err := s.Adjust(t.Context(), "gizmo-3", "", delta); err == nil {
				t.Errorf("Adjust(%d) on 10 succeeded", delta)
			}
		}
		it, err := s.Get(t.Context(), "gizmo-3")
		if err != nil {
			t.Fatal(err)
		}
		if it.GetQuantityOnHand() != 10 || it.GetQuantityReserved() != 0 {
			t.Errorf("after refused requests: on hand %d, reserved %d; want 10, 0", it.GetQuantityOnHand(), it.GetQuantityReserved())
		}
	})
}

// Random operations, extreme values included, against both stores: the
// invariants 0 ≤ reserved ≤ on hand ≤ MaxOnHand always hold, and reserved
// equals the sum of the reservations that succeeded.
func TestRandomOperationsKeepStockInvariants(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		rng := rand.New(rand.NewPCG(1, 2))
		skus := []string{"a", "b", "c"}
		quantity := func() int64 {
			switch rng.IntN(6) {
			case 0:
				return math.MaxInt64
			case 1:
				return math.MinInt64
			case 2:
				return -rng.Int64N(1000)
			case 3:
				return MaxOnHand - rng.Int64N(3)
			default:
				return rng.Int64N(1000)
			}
		}
		reserved := map[string]int64{}
		for i := range 400 {
			sku := skus[rng.IntN(len(skus))]
			if rng.IntN(2) == 0 {
				_, _ = s.Adjust(t.Context(), sku, "", quantity())
				continue
			}
			lines := make([]Line, 1+rng.IntN(3))
			for j := range lines {
				lines[j] = Line{SKU: skus[rng.IntN(len(skus))], Quantity: quantity()}
			}
			if _, _, err := s.Reserve(t.Context(), fmt.Sprint("o-", i), lines); err == nil {
				for _, l := range lines {
					reserved[l.SKU] += l.Quantity
				}
			}
		}
		items, err := s.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			on, res := it.GetQuantityOnHand(), it.GetQuantityReserved()
			if res < 0 || res > on || on > MaxOnHand {
				t.Errorf("%s: on hand %d, reserved %d breaks 0 ≤ reserved ≤ on hand ≤ %d", it.GetSku(), on, res, int64(MaxOnHand))
			}
			if res != reserved[it.GetSku()] {
				t.Errorf("%s: reserved %d, but successful reservations sum to %d", it.GetSku(), res, reserved[it.GetSku()])
			}
		}
	})
}
