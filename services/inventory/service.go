package inventory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	inventoryv1 "github.com/tollgate-rpc/tollgate/gen/go/tollgate/inventory/v1"
	"github.com/tollgate-rpc/tollgate/internal/rpcerr"
	"github.com/tollgate-rpc/tollgate/services/internal/sqldb"
	"github.com/tollgate-rpc/tollgate/services/internal/validate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Page size bounds for ListItems.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// Service implements InventoryServiceServer over a Store.
type Service struct {
	inventoryv1.UnimplementedInventoryServiceServer

	store Store
	log   *slog.Logger

	mu       sync.Mutex
	watchers map[chan *inventoryv1.Item]struct{}
	done     chan struct{}
	closed   bool
}

// New returns a Service over store.
func New(store Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, log: log, watchers: map[chan *inventoryv1.Item]struct{}{}, done: make(chan struct{})}
}

// Register adds the service to a gRPC server.
func (s *Service) Register(r grpc.ServiceRegistrar) { inventoryv1.RegisterInventoryServiceServer(r, s) }

// Close ends every WatchStock stream cleanly; call it before stopping the
// server so graceful stop does not wait for watchers forever.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

// GetItem implements InventoryServiceServer.
func (s *Service) GetItem(ctx context.Context, req *inventoryv1.GetItemRequest) (*inventoryv1.GetItemResponse, error) {
	var f rpcerr.Fields
	validate.CheckSKU(&f, "sku", req.GetSku())
	if err := f.Err(); err != nil {
		return nil, err
	}
	it, err := s.store.Get(ctx, req.GetSku())
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	return &inventoryv1.GetItemResponse{Item: it}, nil
}

// ListItems implements InventoryServiceServer.
func (s *Service) ListItems(req *inventoryv1.ListItemsRequest, stream grpc.ServerStreamingServer[inventoryv1.ListItemsResponse]) error {
	size := int(req.GetPageSize())
	if size < 0 {
		var f rpcerr.Fields
		f.Add("page_size", "must not be negative")
		return f.Err()
	}
	if size == 0 {
		size = defaultPageSize
	}
	size = min(size, maxPageSize)
	items, err := s.store.List(stream.Context())
	if err != nil {
		return s.storeError(stream.Context(), err)
	}
	for start := 0; start < len(items); start += size {
		if err := stream.Context().Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		end := min(start+size, len(items))
		if err := stream.Send(&inventoryv1.ListItemsResponse{Items: items[start:end]}); err != nil {
			return err
		}
	}
	return nil
}

// AdjustStock implements InventoryServiceServer.
func (s *Service) AdjustStock(ctx context.Context, req *inventoryv1.AdjustStockRequest) (*inventoryv1.AdjustStockResponse, error) {
	var f rpcerr.Fields
	validate.CheckSKU(&f, "sku", req.GetSku())
	if d := req.GetDelta(); d == 0 || d > MaxOnHand || d < -MaxOnHand {
		f.Add("delta", fmt.Sprintf("must be non-zero, between %d and %d", -MaxOnHand, MaxOnHand))
	}
	if len(req.GetName()) > 200 {
		f.Add("name", "must be at most 200 bytes")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	it, err := s.store.Adjust(ctx, req.GetSku(), req.GetName(), req.GetDelta())
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	s.publish(it)
	return &inventoryv1.AdjustStockResponse{Item: it}, nil
}

// Reserve implements InventoryServiceServer.
func (s *Service) Reserve(ctx context.Context, req *inventoryv1.ReserveRequest) (*inventoryv1.ReserveResponse, error) {
	var f rpcerr.Fields
	if req.GetOrderId() == "" || len(req.GetOrderId()) > 128 {
		f.Add("order_id", "must be 1-128 bytes")
	}
	validate.Lines(&f, req.GetLines())
	lines := make([]Line, 0, len(req.GetLines()))
	for _, l := range req.GetLines() {
		lines = append(lines, Line{SKU: l.GetSku(), Quantity: l.GetQuantity()})
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	changed, replayed, err := s.store.Reserve(ctx, req.GetOrderId(), lines)
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	for _, it := range changed {
		s.publish(it)
	}
	return &inventoryv1.ReserveResponse{OrderId: req.GetOrderId(), Replayed: replayed}, nil
}

// Release implements InventoryServiceServer.
func (s *Service) Release(ctx context.Context, req *inventoryv1.ReleaseRequest) (*inventoryv1.ReleaseResponse, error) {
	if req.GetOrderId() == "" || len(req.GetOrderId()) > 128 {
		var f rpcerr.Fields
		f.Add("order_id", "must be 1-128 bytes")
		return nil, f.Err()
	}
	changed, released, err := s.store.Release(ctx, req.GetOrderId())
	if err != nil {
		return nil, s.storeError(ctx, err)
	}
	for _, it := range changed {
		s.publish(it)
	}
	return &inventoryv1.ReleaseResponse{OrderId: req.GetOrderId(), Released: released}, nil
}

// WatchStock implements InventoryServiceServer.
func (s *Service) WatchStock(req *inventoryv1.WatchStockRequest, stream grpc.ServerStreamingServer[inventoryv1.WatchStockResponse]) error {
	want := map[string]bool{}
	for _, sku := range req.GetSkus() {
		want[sku] = true
	}
	match := func(it *inventoryv1.Item) bool { return len(want) == 0 || want[it.GetSku()] }
	ch := make(chan *inventoryv1.Item, 64)
	if !s.subscribe(ch) {
		return status.Error(codes.Unavailable, "server is shutting down")
	}
	defer s.unsubscribe(ch)
	items, err := s.store.List(stream.Context())
	if err != nil {
		return s.storeError(stream.Context(), err)
	}
	for _, it := range items {
		if match(it) {
			if err := stream.Send(&inventoryv1.WatchStockResponse{Item: it}); err != nil {
				return err
			}
		}
	}
	for {
		select {
		case <-stream.Context().Done():
			return status.FromContextError(stream.Context().Err()).Err()
		case <-s.done:
			return nil // server stopping: end the stream cleanly
		case it, ok := <-ch:
			if !ok {
				return status.Error(codes.ResourceExhausted, "watcher fell too far behind; reopen the stream")
			}
			if match(it) {
				if err := stream.Send(&inventoryv1.WatchStockResponse{Item: it}); err != nil {
					return err
				}
			}
		}
	}
}

// ImportItems implements InventoryServiceServer.
func (s *Service) ImportItems(stream grpc.ClientStreamingServer[inventoryv1.ImportItemsRequest, inventoryv1.ImportItemsResponse]) error {
	resp := &inventoryv1.ImportItemsResponse{}
	for i := int32(0); ; i++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		it := req.GetItem()
		fail := func(reason string) {
			resp.Failures = append(resp.Failures, &inventoryv1.ImportFailure{Index: i, Sku: it.GetSku(), Reason: reason})
		}
		switch {
		case !validate.SKU(it.GetSku()):
			fail("sku " + validate.SKURule)
			continue
		case it.GetQuantityOnHand() < 0 || it.GetQuantityOnHand() > MaxOnHand:
			fail(fmt.Sprintf("quantity_on_hand must be between 0 and %d", MaxOnHand))
			continue
		}
		stored, err := s.store.Upsert(stream.Context(), it)
		if err != nil {
			fail(status.Convert(s.storeError(stream.Context(), err)).Message())
			continue
		}
		resp.Imported++
		s.publish(stored)
	}
}

func (s *Service) subscribe(ch chan *inventoryv1.Item) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.watchers[ch] = struct{}{}
	return true
}

func (s *Service) unsubscribe(ch chan *inventoryv1.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.watchers[ch]; ok {
		delete(s.watchers, ch)
		close(ch)
	}
}

// publish sends a change to every watcher. A watcher whose buffer is full is
// dropped (its stream ends with ResourceExhausted) rather than block writers.
func (s *Service) publish(it *inventoryv1.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.watchers {
		select {
		case ch <- it:
		default:
			delete(s.watchers, ch)
			close(ch)
		}
	}
}

// storeError maps store errors to statuses without leaking internals.
func (s *Service) storeError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, ErrQuantityLimit):
		return rpcerr.Precondition("QUANTITY", "", err.Error())
	case errors.Is(err, ErrInsufficientStock):
		return rpcerr.Precondition("STOCK", "", err.Error())
	case errors.Is(err, ErrReservationDiffer):
		return rpcerr.Precondition("RESERVATION", "", "order already reserved with different lines")
	default:
		return sqldb.Status(ctx, s.log, "inventory store", err)
	}
}
