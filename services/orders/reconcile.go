package orders

import (
	"context"
	"log/slog"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
)

// ReconcileResult counts what one reconciliation pass found.
type ReconcileResult struct {
	Checked   int // open orders looked at
	Confirmed int // inventory already held their reservation
	Restored  int // inventory had lost it and reserved again
	Failed    int // inventory refused or could not be reached
}

// Reconcile checks every open order against inventory: it repeats the
// order's Reserve call, which inventory answers idempotently, so a
// reservation that inventory still holds is confirmed and one it lost is
// restored. It runs with the orders service's own credentials; no user is
// involved.
func (s *Service) Reconcile(ctx context.Context) (ReconcileResult, error) {
	var r ReconcileResult
	open, err := s.store.Open(ctx)
	if err != nil {
		return r, err
	}
	for _, o := range open {
		r.Checked++
		req := &inventoryv1.ReserveRequest{OrderId: o.GetOrderId()}
		for _, l := range o.GetLines() {
			req.Lines = append(req.Lines, &inventoryv1.ReserveLine{Sku: l.GetSku(), Quantity: l.GetQuantity()})
		}
		cctx, cancel := context.WithTimeout(ctx, reserveTimeout)
		resp, err := s.reserve(cctx, req)
		cancel()
		switch {
		case err != nil:
			r.Failed++
			s.log.Warn("reconcile: reserve failed", slog.String("order_id", o.GetOrderId()), slog.Any("error", err))
		case resp.GetReplayed():
			r.Confirmed++
		default:
			r.Restored++
			s.log.Warn("reconcile: inventory had lost a reservation; restored", slog.String("order_id", o.GetOrderId()))
		}
	}
	return r, nil
}

// RunReconciler reconciles every interval until ctx ends. Each pass gets the
// result through report, when set.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration, report func(ReconcileResult)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r, err := s.Reconcile(ctx)
		if err != nil {
			s.log.Error("reconcile", slog.Any("error", err))
			continue
		}
		s.log.Info("reconciled open orders", slog.Int("checked", r.Checked), slog.Int("confirmed", r.Confirmed),
			slog.Int("restored", r.Restored), slog.Int("failed", r.Failed))
		if report != nil {
			report(r)
		}
	}
}
