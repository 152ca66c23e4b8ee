package orders

import (
	"context"
	"log/slog"
	"sync"
	"time"

	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
)

// ReconcileResult counts what one reconciliation pass found.
type ReconcileResult struct {
	Checked   int // RESERVED orders checked against inventory
	Confirmed int // inventory already held their reservation
	Restored  int // inventory had lost it and reserved again
	Failed    int // inventory refused or could not be reached
	Pending   int // PENDING orders within their grace (their PlaceOrder may still complete)
	Abandoned int // PENDING orders past their grace: stock released, order removed
	Backlog   int // RESERVED orders due for a check that this pass left for the next
}

// Reconciliation bounds. A PENDING order is abandoned only when this
// process has seen it pending for pendingGrace, far longer than its
// PlaceOrder can run (reserveTimeout plus two store calls); a RESERVED order
// confirmed by inventory is checked again only after reconfirmEvery; one
// pass checks at most reconcileBatch orders, so its cost stays bounded
// however many orders are open.
const (
	pendingGrace   = time.Minute
	reconfirmEvery = 10 * time.Minute
	reconcileBatch = 500
)

// reconcileState is what the reconciler remembers between passes, per
// process (replicas each keep their own; every step is idempotent).
type reconcileState struct {
	mu          sync.Mutex // one pass at a time
	pendingSeen map[string]time.Time
	confirmed   map[string]time.Time
}

// Reconcile checks open orders against inventory. A RESERVED order's
// Reserve call is repeated (inventory answers it idempotently), so a
// reservation inventory still holds is confirmed and one it lost is
// restored. A PENDING order whose caller never completed it is abandoned:
// its stock is released first, then the order removed, so that no
// reservation is ever left without an order (a retry that completes it
// meanwhile leaves it RESERVED, and the next pass restores its stock). It
// runs with the orders service's own credentials; no user is involved.
func (s *Service) Reconcile(ctx context.Context) (ReconcileResult, error) {
	st := &s.recon
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pendingSeen == nil {
		st.pendingSeen, st.confirmed = map[string]time.Time{}, map[string]time.Time{}
	}
	var r ReconcileResult
	open, err := s.store.Open(ctx)
	if err != nil {
		return r, err
	}
	now := s.now()
	live := make(map[string]bool, len(open))
	for _, o := range open {
		id := o.GetOrderId()
		live[id] = true
		if o.GetState() == ordersv1.OrderState_ORDER_STATE_PENDING {
			s.reconcilePending(ctx, id, now, &r)
			continue
		}
		if t, ok := st.confirmed[id]; ok && now.Sub(t) < reconfirmEvery {
			continue
		}
		if r.Checked == reconcileBatch {
			r.Backlog++
			continue
		}
		r.Checked++
		if s.reconcileReserved(ctx, o, &r) {
			st.confirmed[id] = now
		}
	}
	for id := range st.confirmed {
		if !live[id] {
			delete(st.confirmed, id)
		}
	}
	for id := range st.pendingSeen {
		if !live[id] {
			delete(st.pendingSeen, id)
		}
	}
	return r, nil
}

// reconcileReserved repeats a RESERVED order's Reserve call and reports
// whether inventory now holds its reservation.
func (s *Service) reconcileReserved(ctx context.Context, o *ordersv1.Order, r *ReconcileResult) bool {
	req := &inventoryv1.ReserveRequest{OrderId: o.GetOrderId()}
	for _, l := range o.GetLines() {
		req.Lines = append(req.Lines, &inventoryv1.ReserveLine{Sku: l.GetSku(), Quantity: l.GetQuantity()})
	}
	// Fail fast (no WaitForReady): while inventory is down a pass ends
	// quickly and the next one tries again.
	cctx, cancel := context.WithTimeout(ctx, reserveTimeout)
	defer cancel()
	resp, err := s.inventory.Reserve(cctx, req)
	switch {
	case err != nil:
		r.Failed++
		s.log.Warn("reconcile: reserve failed", slog.String("order_id", o.GetOrderId()), slog.Any("error", err))
		return false
	case resp.GetReplayed():
		r.Confirmed++
	default:
		r.Restored++
		s.log.Warn("reconcile: inventory had lost a reservation; restored", slog.String("order_id", o.GetOrderId()))
	}
	return true
}

// reconcilePending abandons a PENDING order seen for pendingGrace: release,
// then remove (only if still PENDING).
func (s *Service) reconcilePending(ctx context.Context, id string, now time.Time, r *ReconcileResult) {
	st := &s.recon
	first, seen := st.pendingSeen[id]
	if !seen {
		st.pendingSeen[id] = now
	}
	if !seen || now.Sub(first) < pendingGrace {
		r.Pending++
		return
	}
	cctx, cancel := context.WithTimeout(ctx, reserveTimeout)
	defer cancel()
	if _, err := s.inventory.Release(cctx, &inventoryv1.ReleaseRequest{OrderId: id}); err != nil {
		r.Failed++
		s.log.Warn("reconcile: cannot release an abandoned pending order's stock", slog.String("order_id", id), slog.Any("error", err))
		return
	}
	if _, err := s.store.Delete(cctx, id, ordersv1.OrderState_ORDER_STATE_PENDING); err != nil {
		r.Failed++
		s.log.Warn("reconcile: cannot remove an abandoned pending order", slog.String("order_id", id), slog.Any("error", err))
		return
	}
	delete(st.pendingSeen, id)
	r.Abandoned++
	s.log.Info("reconcile: abandoned a pending order; its stock is released", slog.String("order_id", id))
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
			slog.Int("restored", r.Restored), slog.Int("failed", r.Failed), slog.Int("pending", r.Pending),
			slog.Int("abandoned", r.Abandoned), slog.Int("backlog", r.Backlog))
		if report != nil {
			report(r)
		}
	}
}
