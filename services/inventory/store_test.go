package inventory

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/pgtest"
)

// stores runs a test against every Store implementation.
func stores(t *testing.T, test func(t *testing.T, s Store)) {
	t.Run("memory", func(t *testing.T) { test(t, NewMemoryStore()) })
	t.Run("sqlite", func(t *testing.T) {
		s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "inventory.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		test(t, s)
	})
	t.Run("postgres", func(t *testing.T) { test(t, openPG(t, pgtest.Schema(t, pgtest.URL(t)))) })
}

// openPG opens the inventory store in schema of the test database: called
// twice with one schema, it is two replicas.
func openPG(t *testing.T, schema string) *SQLStore {
	t.Helper()
	s, err := OpenPostgres(t.Context(), pgtest.URL(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two replicas on one PostgreSQL database, 200 one-unit orders at once on
// 150 units: exactly 150 reserved, none twice; one order sent to both
// replicas at once is reserved once and replayed once.
func TestReplicasOnPostgresNeverOverReserve(t *testing.T) {
	schema := pgtest.Schema(t, pgtest.URL(t))
	a, b := openPG(t, schema), openPG(t, schema)
	if _, err := a.Adjust(t.Context(), "w", "Widget", 150); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := map[string]int{}
	for i := range 200 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			_, _, err := s.Reserve(context.Background(), fmt.Sprint("o-", i), []Line{{SKU: "w", Quantity: 1}})
			key := "ok"
			switch {
			case errors.Is(err, ErrInsufficientStock):
				key = "insufficient"
			case err != nil:
				key = err.Error()
			}
			mu.Lock()
			results[key]++
			mu.Unlock()
		})
	}
	wg.Wait()
	it, err := b.Get(t.Context(), "w")
	if err != nil {
		t.Fatal(err)
	}
	if results["ok"] != 150 || results["insufficient"] != 50 || it.GetQuantityReserved() != 150 {
		t.Errorf("200 orders on 150 units over two replicas: %v, reserved %d; want 150 reserved, 50 refused", results, it.GetQuantityReserved())
	}
	if _, err := a.Adjust(t.Context(), "w", "", 10); err != nil {
		t.Fatal(err)
	}
	replays := make(chan bool, 2)
	for _, s := range []*SQLStore{a, b} {
		wg.Go(func() {
			_, replayed, err := s.Reserve(context.Background(), "same", []Line{{SKU: "w", Quantity: 3}})
			if err != nil {
				t.Error(err)
			}
			replays <- replayed
		})
	}
	wg.Wait()
	close(replays)
	n := 0
	for r := range replays {
		if r {
			n++
		}
	}
	if it, _ := a.Get(t.Context(), "w"); n != 1 || it.GetQuantityReserved() != 153 {
		t.Errorf("one order at two replicas at once: %d replays, reserved %d; want 1 replay, 153", n, it.GetQuantityReserved())
	}
}

func TestStoreContract(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		if _, err := s.Get(t.Context(), "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(missing) = %v, want ErrNotFound", err)
		}
		if _, err := s.Adjust(t.Context(), "a", "Apple", 5); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Adjust(t.Context(), "b", "Bean", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Adjust(t.Context(), "a", "", -6); !errors.Is(err, ErrInsufficientStock) {
			t.Errorf("Adjust below zero = %v, want ErrInsufficientStock", err)
		}
		// All or nothing: b lacks stock, so a is not reserved either.
		if _, _, err := s.Reserve(t.Context(), "o1", []Line{{"a", 2}, {"b", 3}}); !errors.Is(err, ErrInsufficientStock) {
			t.Errorf("Reserve beyond stock = %v, want ErrInsufficientStock", err)
		}
		if it, _ := s.Get(t.Context(), "a"); it.GetQuantityReserved() != 0 {
			t.Errorf("a reserved %d after a failed all-or-nothing reservation", it.GetQuantityReserved())
		}
		if _, _, err := s.Reserve(t.Context(), "o2", []Line{{"zz", 1}}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Reserve unknown SKU = %v, want ErrNotFound", err)
		}
		changed, replayed, err := s.Reserve(t.Context(), "o3", []Line{{"a", 2}, {"b", 1}})
		if err != nil || replayed || len(changed) != 2 {
			t.Fatalf("Reserve = %v, %v, %v", changed, replayed, err)
		}
		if _, replayed, err := s.Reserve(t.Context(), "o3", []Line{{"a", 2}, {"b", 1}}); err != nil || !replayed {
			t.Errorf("repeated Reserve = replayed %v, %v; want replayed", replayed, err)
		}
		if _, _, err := s.Reserve(t.Context(), "o3", []Line{{"a", 1}}); !errors.Is(err, ErrReservationDiffer) {
			t.Errorf("Reserve with the same ID and other lines = %v", err)
		}
		if _, err := s.Adjust(t.Context(), "a", "", -4); !errors.Is(err, ErrInsufficientStock) {
			t.Errorf("Adjust below reserved = %v, want ErrInsufficientStock", err)
		}
		if _, err := s.Upsert(t.Context(), &inventoryv1.Item{Sku: "a", Name: "Apricot", QuantityOnHand: 9}); err != nil {
			t.Fatal(err)
		}
		items, err := s.List(t.Context())
		if err != nil || len(items) != 2 || items[0].GetName() != "Apricot" || items[0].GetQuantityReserved() != 2 {
			t.Errorf("List = %v, %v", items, err)
		}
	})
}

func TestConcurrentRetriesReserveOnce(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		if _, err := s.Adjust(t.Context(), "a", "Apple", 100); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, replayed, err := s.Reserve(t.Context(), "retried", []Line{{"a", 3}})
				if err != nil {
					t.Error(err)
					return
				}
				if !replayed {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		it, _ := s.Get(t.Context(), "a")
		if fresh != 1 || it.GetQuantityReserved() != 3 {
			t.Errorf("50 concurrent retries: %d reserved fresh, %d units reserved; want 1 and 3", fresh, it.GetQuantityReserved())
		}
	})
}

func TestSQLiteKeepsDataAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Adjust(t.Context(), "a", "Apple", 7); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Reserve(t.Context(), "o", []Line{{"a", 2}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, err := s.Get(t.Context(), "a")
	if err != nil || it.GetQuantityOnHand() != 7 || it.GetQuantityReserved() != 2 {
		t.Errorf("after reopen: %v, %v", it, err)
	}
	if _, replayed, err := s.Reserve(t.Context(), "o", []Line{{"a", 2}}); err != nil || !replayed {
		t.Errorf("reservation forgotten across reopen: replayed %v, %v", replayed, err)
	}
}

// Replicas starting together on a fresh database all open it: CREATE TABLE
// IF NOT EXISTS alone races in PostgreSQL (a unique violation in pg_type).
func TestReplicasStartingTogetherOnPostgres(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t, url)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			s, err := OpenPostgres(context.Background(), url, schema)
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
