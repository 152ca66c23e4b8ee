package orders

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	ordersv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/orders/v1"
	"github.com/tollgate-rpc/tollgate/interceptors"
	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
	"github.com/tollgate-rpc/tollgate/services/internal/sqldb"
	"github.com/tollgate-rpc/tollgate/services/internal/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Service implements OrdersServiceServer.
type Service struct {
	ordersv1.UnimplementedOrdersServiceServer

	store     Store
	inventory inventoryv1.InventoryServiceClient
	log       *slog.Logger
	now       func() time.Time
	recon     reconcileState
}

// New returns a Service that records orders in store and reserves stock
// through inventory, a client dialled with the orders service's own
// credentials.
func New(store Store, inventory inventoryv1.InventoryServiceClient, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, inventory: inventory, log: log, now: time.Now}
}

// InventoryServiceConfig is the gRPC service config for orders' connection
// to inventory: Reserve (idempotent per order ID) and the read methods are
// retried on UNAVAILABLE, up to four attempts with backoff, so a cut
// connection or a restarting replica costs a retry, not a failed order.
const InventoryServiceConfig = `{
  "methodConfig": [{
    "name": [
      {"service": "tollgate.inventory.v1.InventoryService", "method": "Reserve"},
      {"service": "tollgate.inventory.v1.InventoryService", "method": "GetItem"}
    ],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// reserveTimeout bounds a Reserve call when the caller set no deadline: it
// waits for a connection to inventory (WaitForReady) rather than fail at
// once while the connection is down, but not forever.
const reserveTimeout = 10 * time.Second

// reserve calls inventory's Reserve, waiting for the connection within the
// caller's deadline or reserveTimeout, whichever comes first: a PENDING
// order's Reserve never outlives the reconciler's grace for it.
func (s *Service) reserve(ctx context.Context, req *inventoryv1.ReserveRequest) (*inventoryv1.ReserveResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, reserveTimeout)
	defer cancel()
	return s.inventory.Reserve(ctx, req, grpc.WaitForReady(true))
}

// Register adds the service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) { ordersv1.RegisterOrdersServiceServer(r, s) }

// PlaceOrder implements OrdersServiceServer.
func (s *Service) PlaceOrder(ctx context.Context, req *ordersv1.PlaceOrderRequest) (*ordersv1.PlaceOrderResponse, error) {
	var f rpcerr.Fields
	if req.GetOrderId() == "" || len(req.GetOrderId()) > 128 {
		f.Add("order_id", "must be 1-128 bytes")
	}
	validate.Lines(&f, req.GetLines())
	reserve := &inventoryv1.ReserveRequest{OrderId: req.GetOrderId()}
	for _, l := range req.GetLines() {
		reserve.Lines = append(reserve.Lines, &inventoryv1.ReserveLine{Sku: l.GetSku(), Quantity: l.GetQuantity()})
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	// The order is recorded PENDING before any stock is reserved, so that
	// no reservation ever exists without an order: when the orders
	// database cannot be written, nothing is reserved and the caller gets
	// a retriable Unavailable. Inventory is idempotent per order ID, so a
	// retry with the same ID (PENDING found) reserves nothing twice and
	// completes the order; one whose caller never comes back is removed
	// and its stock released by the reconciler.
	o := &ordersv1.Order{OrderId: req.GetOrderId(), Lines: req.GetLines(), State: ordersv1.OrderState_ORDER_STATE_PENDING}
	if p, ok := interceptors.PrincipalFrom(ctx); ok {
		o.PlacedBy, o.PlacedByIssuer = p.ClientID, p.Issuer
	}
	prev, err := s.store.Get(ctx, req.GetOrderId())
	if errors.Is(err, ErrNotFound) {
		prev, _, err = s.store.Create(ctx, o)
	}
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	if resp, err := s.replay(prev, req); err != nil || prev.GetState() != ordersv1.OrderState_ORDER_STATE_PENDING {
		return resp, err
	}
	if _, err := s.reserve(ctx, reserve); err != nil {
		if st := status.Convert(err); refusal(st.Code()) {
			// Refused for good (no such item, not enough stock): the order
			// is not placed. If this delete fails, the reconciler removes it.
			if _, derr := s.store.Delete(ctx, req.GetOrderId(), ordersv1.OrderState_ORDER_STATE_PENDING); derr != nil {
				s.log.Warn("cannot remove a refused pending order; the reconciler will", slog.String("order_id", req.GetOrderId()), slog.Any("error", derr))
			}
		}
		return nil, s.inventoryError(err)
	}
	placed, err := s.store.Transition(ctx, req.GetOrderId(), ordersv1.OrderState_ORDER_STATE_PENDING, ordersv1.OrderState_ORDER_STATE_RESERVED)
	if errors.Is(err, ErrConflict) { // a concurrent retry completed it
		placed, err = s.store.Get(ctx, req.GetOrderId())
	}
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	return &ordersv1.PlaceOrderResponse{Order: placed}, nil
}

// refusal reports whether inventory refused a Reserve for good, as opposed
// to failing it.
func refusal(c codes.Code) bool {
	return c == codes.NotFound || c == codes.FailedPrecondition || c == codes.InvalidArgument
}

// replay answers a retried PlaceOrder with the recorded order, or refuses a
// different order under the same ID.
func (s *Service) replay(prev *ordersv1.Order, req *ordersv1.PlaceOrderRequest) (*ordersv1.PlaceOrderResponse, error) {
	if len(prev.GetLines()) != len(req.GetLines()) {
		return nil, rpcerr.Precondition("ORDER_ID", req.GetOrderId(), "order ID already used for a different order")
	}
	for i, l := range prev.GetLines() {
		if !proto.Equal(l, req.GetLines()[i]) {
			return nil, rpcerr.Precondition("ORDER_ID", req.GetOrderId(), "order ID already used for a different order")
		}
	}
	return &ordersv1.PlaceOrderResponse{Order: prev}, nil
}

// GetOrder implements OrdersServiceServer.
func (s *Service) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (*ordersv1.GetOrderResponse, error) {
	if req.GetOrderId() == "" {
		var f rpcerr.Fields
		f.Add("order_id", "must not be empty")
		return nil, f.Err()
	}
	o, err := s.store.Get(ctx, req.GetOrderId())
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	return &ordersv1.GetOrderResponse{Order: o}, nil
}

// next is the only state each state may move to.
var next = map[ordersv1.OrderState]ordersv1.OrderState{
	ordersv1.OrderState_ORDER_STATE_RESERVED: ordersv1.OrderState_ORDER_STATE_PACKED,
	ordersv1.OrderState_ORDER_STATE_PACKED:   ordersv1.OrderState_ORDER_STATE_SHIPPED,
}

// Fulfil implements OrdersServiceServer.
func (s *Service) Fulfil(stream grpc.BidiStreamingServer[ordersv1.FulfilRequest, ordersv1.FulfilResponse]) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		cur, err := s.store.Get(ctx, req.GetOrderId())
		if err != nil {
			return s.storeError(ctx, err)
		}
		if next[cur.GetState()] != req.GetState() || req.GetState() == ordersv1.OrderState_ORDER_STATE_UNSPECIFIED {
			return rpcerr.Precondition("STATE", req.GetOrderId(),
				"order "+req.GetOrderId()+" is "+cur.GetState().String()+" and cannot move to "+req.GetState().String())
		}
		o, err := s.store.Transition(ctx, req.GetOrderId(), cur.GetState(), req.GetState())
		if errors.Is(err, ErrConflict) {
			return status.Error(codes.Aborted, "order "+req.GetOrderId()+" changed concurrently; retry")
		}
		if err != nil {
			return s.storeError(ctx, err)
		}
		if err := stream.Send(&ordersv1.FulfilResponse{Order: o}); err != nil {
			return err
		}
	}
}

func (s *Service) storeError(ctx context.Context, err error) error {
	if errors.Is(err, ErrNotFound) {
		return status.Error(codes.NotFound, err.Error())
	}
	return sqldb.Status(ctx, s.log, "orders store", err)
}

// inventoryError maps a failed Reserve: the caller learns about stock
// problems, not about the orders service's own credentials.
func (s *Service) inventoryError(err error) error {
	st := status.Convert(err)
	switch {
	case refusal(st.Code()):
		return rpcerr.Precondition("STOCK", "", "cannot reserve stock: "+st.Message())
	case st.Code() == codes.DeadlineExceeded, st.Code() == codes.Canceled:
		return st.Err()
	default:
		s.log.Error("inventory reserve failed", slog.String("code", st.Code().String()), slog.String("message", st.Message()))
		return status.Error(codes.Unavailable, "inventory service unavailable; retry with the same order ID")
	}
}
