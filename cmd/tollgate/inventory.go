package main

import (
	"context"
	"io"

	"github.com/tollgate-rpc/tollgate/services/inventory"
)

// runInventory runs the inventory service.
func runInventory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("inventory", stdout, stderr)
	s := serviceFlags(f, "inventory", "127.0.0.1:8401", inventory.Audience)
	if err := f.parse(args); err != nil {
		return err
	}
	defer s.close()
	if err := s.start(ctx, stdout, stderr, nil); err != nil {
		return err
	}
	store, err := openStore(ctx, s, "inventory.db", inventory.OpenPostgres, inventory.OpenSQLite)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := inventory.SeedDemo(ctx, store); err != nil {
		return err
	}
	svc := inventory.New(store, s.log)
	return s.serve(ctx, svc.Register, svc.Close, store.Ready)
}
