package dev.tollgate.inventory.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * InventoryService keeps stock levels for items identified by SKU. Reading
 * needs inventory.read; each mutation names its own narrower scope.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: tollgate/inventory/v1/inventory.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class InventoryServiceGrpc {

  private InventoryServiceGrpc() {}

  public static final String SERVICE_NAME = "tollgate.inventory.v1.InventoryService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.GetItemRequest,
      dev.tollgate.inventory.v1.GetItemResponse> getGetItemMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetItem",
      requestType = dev.tollgate.inventory.v1.GetItemRequest.class,
      responseType = dev.tollgate.inventory.v1.GetItemResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.GetItemRequest,
      dev.tollgate.inventory.v1.GetItemResponse> getGetItemMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.GetItemRequest, dev.tollgate.inventory.v1.GetItemResponse> getGetItemMethod;
    if ((getGetItemMethod = InventoryServiceGrpc.getGetItemMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getGetItemMethod = InventoryServiceGrpc.getGetItemMethod) == null) {
          InventoryServiceGrpc.getGetItemMethod = getGetItemMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.GetItemRequest, dev.tollgate.inventory.v1.GetItemResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetItem"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.GetItemRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.GetItemResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("GetItem"))
              .build();
        }
      }
    }
    return getGetItemMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ListItemsRequest,
      dev.tollgate.inventory.v1.ListItemsResponse> getListItemsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListItems",
      requestType = dev.tollgate.inventory.v1.ListItemsRequest.class,
      responseType = dev.tollgate.inventory.v1.ListItemsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ListItemsRequest,
      dev.tollgate.inventory.v1.ListItemsResponse> getListItemsMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ListItemsRequest, dev.tollgate.inventory.v1.ListItemsResponse> getListItemsMethod;
    if ((getListItemsMethod = InventoryServiceGrpc.getListItemsMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getListItemsMethod = InventoryServiceGrpc.getListItemsMethod) == null) {
          InventoryServiceGrpc.getListItemsMethod = getListItemsMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.ListItemsRequest, dev.tollgate.inventory.v1.ListItemsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListItems"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ListItemsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ListItemsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("ListItems"))
              .build();
        }
      }
    }
    return getListItemsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.AdjustStockRequest,
      dev.tollgate.inventory.v1.AdjustStockResponse> getAdjustStockMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "AdjustStock",
      requestType = dev.tollgate.inventory.v1.AdjustStockRequest.class,
      responseType = dev.tollgate.inventory.v1.AdjustStockResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.AdjustStockRequest,
      dev.tollgate.inventory.v1.AdjustStockResponse> getAdjustStockMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.AdjustStockRequest, dev.tollgate.inventory.v1.AdjustStockResponse> getAdjustStockMethod;
    if ((getAdjustStockMethod = InventoryServiceGrpc.getAdjustStockMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getAdjustStockMethod = InventoryServiceGrpc.getAdjustStockMethod) == null) {
          InventoryServiceGrpc.getAdjustStockMethod = getAdjustStockMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.AdjustStockRequest, dev.tollgate.inventory.v1.AdjustStockResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "AdjustStock"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.AdjustStockRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.AdjustStockResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("AdjustStock"))
              .build();
        }
      }
    }
    return getAdjustStockMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReserveRequest,
      dev.tollgate.inventory.v1.ReserveResponse> getReserveMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Reserve",
      requestType = dev.tollgate.inventory.v1.ReserveRequest.class,
      responseType = dev.tollgate.inventory.v1.ReserveResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReserveRequest,
      dev.tollgate.inventory.v1.ReserveResponse> getReserveMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReserveRequest, dev.tollgate.inventory.v1.ReserveResponse> getReserveMethod;
    if ((getReserveMethod = InventoryServiceGrpc.getReserveMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getReserveMethod = InventoryServiceGrpc.getReserveMethod) == null) {
          InventoryServiceGrpc.getReserveMethod = getReserveMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.ReserveRequest, dev.tollgate.inventory.v1.ReserveResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Reserve"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ReserveRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ReserveResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("Reserve"))
              .build();
        }
      }
    }
    return getReserveMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReleaseRequest,
      dev.tollgate.inventory.v1.ReleaseResponse> getReleaseMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Release",
      requestType = dev.tollgate.inventory.v1.ReleaseRequest.class,
      responseType = dev.tollgate.inventory.v1.ReleaseResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReleaseRequest,
      dev.tollgate.inventory.v1.ReleaseResponse> getReleaseMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ReleaseRequest, dev.tollgate.inventory.v1.ReleaseResponse> getReleaseMethod;
    if ((getReleaseMethod = InventoryServiceGrpc.getReleaseMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getReleaseMethod = InventoryServiceGrpc.getReleaseMethod) == null) {
          InventoryServiceGrpc.getReleaseMethod = getReleaseMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.ReleaseRequest, dev.tollgate.inventory.v1.ReleaseResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Release"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ReleaseRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ReleaseResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("Release"))
              .build();
        }
      }
    }
    return getReleaseMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.WatchStockRequest,
      dev.tollgate.inventory.v1.WatchStockResponse> getWatchStockMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "WatchStock",
      requestType = dev.tollgate.inventory.v1.WatchStockRequest.class,
      responseType = dev.tollgate.inventory.v1.WatchStockResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.WatchStockRequest,
      dev.tollgate.inventory.v1.WatchStockResponse> getWatchStockMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.WatchStockRequest, dev.tollgate.inventory.v1.WatchStockResponse> getWatchStockMethod;
    if ((getWatchStockMethod = InventoryServiceGrpc.getWatchStockMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getWatchStockMethod = InventoryServiceGrpc.getWatchStockMethod) == null) {
          InventoryServiceGrpc.getWatchStockMethod = getWatchStockMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.WatchStockRequest, dev.tollgate.inventory.v1.WatchStockResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "WatchStock"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.WatchStockRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.WatchStockResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("WatchStock"))
              .build();
        }
      }
    }
    return getWatchStockMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ImportItemsRequest,
      dev.tollgate.inventory.v1.ImportItemsResponse> getImportItemsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ImportItems",
      requestType = dev.tollgate.inventory.v1.ImportItemsRequest.class,
      responseType = dev.tollgate.inventory.v1.ImportItemsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING)
  public static io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ImportItemsRequest,
      dev.tollgate.inventory.v1.ImportItemsResponse> getImportItemsMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.inventory.v1.ImportItemsRequest, dev.tollgate.inventory.v1.ImportItemsResponse> getImportItemsMethod;
    if ((getImportItemsMethod = InventoryServiceGrpc.getImportItemsMethod) == null) {
      synchronized (InventoryServiceGrpc.class) {
        if ((getImportItemsMethod = InventoryServiceGrpc.getImportItemsMethod) == null) {
          InventoryServiceGrpc.getImportItemsMethod = getImportItemsMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.inventory.v1.ImportItemsRequest, dev.tollgate.inventory.v1.ImportItemsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ImportItems"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ImportItemsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.inventory.v1.ImportItemsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new InventoryServiceMethodDescriptorSupplier("ImportItems"))
              .build();
        }
      }
    }
    return getImportItemsMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static InventoryServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<InventoryServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<InventoryServiceStub>() {
        @java.lang.Override
        public InventoryServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new InventoryServiceStub(channel, callOptions);
        }
      };
    return InventoryServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static InventoryServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<InventoryServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<InventoryServiceBlockingStub>() {
        @java.lang.Override
        public InventoryServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new InventoryServiceBlockingStub(channel, callOptions);
        }
      };
    return InventoryServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static InventoryServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<InventoryServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<InventoryServiceFutureStub>() {
        @java.lang.Override
        public InventoryServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new InventoryServiceFutureStub(channel, callOptions);
        }
      };
    return InventoryServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * InventoryService keeps stock levels for items identified by SKU. Reading
   * needs inventory.read; each mutation names its own narrower scope.
   * </pre>
   */
  public static abstract class InventoryServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * GetItem returns one item by SKU.
     * </pre>
     */
    public void getItem(dev.tollgate.inventory.v1.GetItemRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.GetItemResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetItemMethod(), responseObserver);
    }

    /**
     * <pre>
     * ListItems streams every item in SKU order, a page per message.
     * </pre>
     */
    public void listItems(dev.tollgate.inventory.v1.ListItemsRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ListItemsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListItemsMethod(), responseObserver);
    }

    /**
     * <pre>
     * AdjustStock adds a signed delta to an item's quantity on hand, creating
     * the item when it does not exist. It never lets the quantity go below zero.
     * </pre>
     */
    public void adjustStock(dev.tollgate.inventory.v1.AdjustStockRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.AdjustStockResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getAdjustStockMethod(), responseObserver);
    }

    /**
     * <pre>
     * Reserve sets stock aside for an order: all lines or none. It is
     * idempotent per order ID, so a retried call never reserves twice.
     * </pre>
     */
    public void reserve(dev.tollgate.inventory.v1.ReserveRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReserveResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReserveMethod(), responseObserver);
    }

    /**
     * <pre>
     * Release gives an order's reserved stock back, for an order that was
     * never recorded as placed (its caller gave up while it was pending). It
     * is idempotent: releasing an order with no reservation changes nothing.
     * </pre>
     */
    public void release(dev.tollgate.inventory.v1.ReleaseRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReleaseResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReleaseMethod(), responseObserver);
    }

    /**
     * <pre>
     * WatchStock streams the current state of the watched items, then every
     * change to them, until the client goes away or the server stops.
     * </pre>
     */
    public void watchStock(dev.tollgate.inventory.v1.WatchStockRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.WatchStockResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getWatchStockMethod(), responseObserver);
    }

    /**
     * <pre>
     * ImportItems takes a stream of items and upserts each one, replying with a
     * summary that names every item that could not be imported.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ImportItemsRequest> importItems(
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ImportItemsResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getImportItemsMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getGetItemMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.GetItemRequest,
                dev.tollgate.inventory.v1.GetItemResponse>(
                  this, METHODID_GET_ITEM)))
          .addMethod(
            getListItemsMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.ListItemsRequest,
                dev.tollgate.inventory.v1.ListItemsResponse>(
                  this, METHODID_LIST_ITEMS)))
          .addMethod(
            getAdjustStockMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.AdjustStockRequest,
                dev.tollgate.inventory.v1.AdjustStockResponse>(
                  this, METHODID_ADJUST_STOCK)))
          .addMethod(
            getReserveMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.ReserveRequest,
                dev.tollgate.inventory.v1.ReserveResponse>(
                  this, METHODID_RESERVE)))
          .addMethod(
            getReleaseMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.ReleaseRequest,
                dev.tollgate.inventory.v1.ReleaseResponse>(
                  this, METHODID_RELEASE)))
          .addMethod(
            getWatchStockMethod(),
            io.grpc.stub.ServerCalls.asyncServerStreamingCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.WatchStockRequest,
                dev.tollgate.inventory.v1.WatchStockResponse>(
                  this, METHODID_WATCH_STOCK)))
          .addMethod(
            getImportItemsMethod(),
            io.grpc.stub.ServerCalls.asyncClientStreamingCall(
              new MethodHandlers<
                dev.tollgate.inventory.v1.ImportItemsRequest,
                dev.tollgate.inventory.v1.ImportItemsResponse>(
                  this, METHODID_IMPORT_ITEMS)))
          .build();
    }
  }

  /**
   * <pre>
   * InventoryService keeps stock levels for items identified by SKU. Reading
   * needs inventory.read; each mutation names its own narrower scope.
   * </pre>
   */
  public static final class InventoryServiceStub extends io.grpc.stub.AbstractAsyncStub<InventoryServiceStub> {
    private InventoryServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected InventoryServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new InventoryServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetItem returns one item by SKU.
     * </pre>
     */
    public void getItem(dev.tollgate.inventory.v1.GetItemRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.GetItemResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetItemMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ListItems streams every item in SKU order, a page per message.
     * </pre>
     */
    public void listItems(dev.tollgate.inventory.v1.ListItemsRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ListItemsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getListItemsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * AdjustStock adds a signed delta to an item's quantity on hand, creating
     * the item when it does not exist. It never lets the quantity go below zero.
     * </pre>
     */
    public void adjustStock(dev.tollgate.inventory.v1.AdjustStockRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.AdjustStockResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getAdjustStockMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Reserve sets stock aside for an order: all lines or none. It is
     * idempotent per order ID, so a retried call never reserves twice.
     * </pre>
     */
    public void reserve(dev.tollgate.inventory.v1.ReserveRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReserveResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReserveMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Release gives an order's reserved stock back, for an order that was
     * never recorded as placed (its caller gave up while it was pending). It
     * is idempotent: releasing an order with no reservation changes nothing.
     * </pre>
     */
    public void release(dev.tollgate.inventory.v1.ReleaseRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReleaseResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReleaseMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * WatchStock streams the current state of the watched items, then every
     * change to them, until the client goes away or the server stops.
     * </pre>
     */
    public void watchStock(dev.tollgate.inventory.v1.WatchStockRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.WatchStockResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncServerStreamingCall(
          getChannel().newCall(getWatchStockMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * ImportItems takes a stream of items and upserts each one, replying with a
     * summary that names every item that could not be imported.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ImportItemsRequest> importItems(
        io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ImportItemsResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncClientStreamingCall(
          getChannel().newCall(getImportItemsMethod(), getCallOptions()), responseObserver);
    }
  }

  /**
   * <pre>
   * InventoryService keeps stock levels for items identified by SKU. Reading
   * needs inventory.read; each mutation names its own narrower scope.
   * </pre>
   */
  public static final class InventoryServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<InventoryServiceBlockingStub> {
    private InventoryServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected InventoryServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new InventoryServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetItem returns one item by SKU.
     * </pre>
     */
    public dev.tollgate.inventory.v1.GetItemResponse getItem(dev.tollgate.inventory.v1.GetItemRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetItemMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * ListItems streams every item in SKU order, a page per message.
     * </pre>
     */
    public java.util.Iterator<dev.tollgate.inventory.v1.ListItemsResponse> listItems(
        dev.tollgate.inventory.v1.ListItemsRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getListItemsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * AdjustStock adds a signed delta to an item's quantity on hand, creating
     * the item when it does not exist. It never lets the quantity go below zero.
     * </pre>
     */
    public dev.tollgate.inventory.v1.AdjustStockResponse adjustStock(dev.tollgate.inventory.v1.AdjustStockRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getAdjustStockMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Reserve sets stock aside for an order: all lines or none. It is
     * idempotent per order ID, so a retried call never reserves twice.
     * </pre>
     */
    public dev.tollgate.inventory.v1.ReserveResponse reserve(dev.tollgate.inventory.v1.ReserveRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReserveMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Release gives an order's reserved stock back, for an order that was
     * never recorded as placed (its caller gave up while it was pending). It
     * is idempotent: releasing an order with no reservation changes nothing.
     * </pre>
     */
    public dev.tollgate.inventory.v1.ReleaseResponse release(dev.tollgate.inventory.v1.ReleaseRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReleaseMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * WatchStock streams the current state of the watched items, then every
     * change to them, until the client goes away or the server stops.
     * </pre>
     */
    public java.util.Iterator<dev.tollgate.inventory.v1.WatchStockResponse> watchStock(
        dev.tollgate.inventory.v1.WatchStockRequest request) {
      return io.grpc.stub.ClientCalls.blockingServerStreamingCall(
          getChannel(), getWatchStockMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * InventoryService keeps stock levels for items identified by SKU. Reading
   * needs inventory.read; each mutation names its own narrower scope.
   * </pre>
   */
  public static final class InventoryServiceFutureStub extends io.grpc.stub.AbstractFutureStub<InventoryServiceFutureStub> {
    private InventoryServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected InventoryServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new InventoryServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * GetItem returns one item by SKU.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.inventory.v1.GetItemResponse> getItem(
        dev.tollgate.inventory.v1.GetItemRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetItemMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * AdjustStock adds a signed delta to an item's quantity on hand, creating
     * the item when it does not exist. It never lets the quantity go below zero.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.inventory.v1.AdjustStockResponse> adjustStock(
        dev.tollgate.inventory.v1.AdjustStockRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getAdjustStockMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Reserve sets stock aside for an order: all lines or none. It is
     * idempotent per order ID, so a retried call never reserves twice.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.inventory.v1.ReserveResponse> reserve(
        dev.tollgate.inventory.v1.ReserveRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReserveMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Release gives an order's reserved stock back, for an order that was
     * never recorded as placed (its caller gave up while it was pending). It
     * is idempotent: releasing an order with no reservation changes nothing.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.inventory.v1.ReleaseResponse> release(
        dev.tollgate.inventory.v1.ReleaseRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReleaseMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_ITEM = 0;
  private static final int METHODID_LIST_ITEMS = 1;
  private static final int METHODID_ADJUST_STOCK = 2;
  private static final int METHODID_RESERVE = 3;
  private static final int METHODID_RELEASE = 4;
  private static final int METHODID_WATCH_STOCK = 5;
  private static final int METHODID_IMPORT_ITEMS = 6;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final InventoryServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(InventoryServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_GET_ITEM:
          serviceImpl.getItem((dev.tollgate.inventory.v1.GetItemRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.GetItemResponse>) responseObserver);
          break;
        case METHODID_LIST_ITEMS:
          serviceImpl.listItems((dev.tollgate.inventory.v1.ListItemsRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ListItemsResponse>) responseObserver);
          break;
        case METHODID_ADJUST_STOCK:
          serviceImpl.adjustStock((dev.tollgate.inventory.v1.AdjustStockRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.AdjustStockResponse>) responseObserver);
          break;
        case METHODID_RESERVE:
          serviceImpl.reserve((dev.tollgate.inventory.v1.ReserveRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReserveResponse>) responseObserver);
          break;
        case METHODID_RELEASE:
          serviceImpl.release((dev.tollgate.inventory.v1.ReleaseRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ReleaseResponse>) responseObserver);
          break;
        case METHODID_WATCH_STOCK:
          serviceImpl.watchStock((dev.tollgate.inventory.v1.WatchStockRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.WatchStockResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_IMPORT_ITEMS:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.importItems(
              (io.grpc.stub.StreamObserver<dev.tollgate.inventory.v1.ImportItemsResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class InventoryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    InventoryServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tollgate.inventory.v1.InventoryProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("InventoryService");
    }
  }

  private static final class InventoryServiceFileDescriptorSupplier
      extends InventoryServiceBaseDescriptorSupplier {
    InventoryServiceFileDescriptorSupplier() {}
  }

  private static final class InventoryServiceMethodDescriptorSupplier
      extends InventoryServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    InventoryServiceMethodDescriptorSupplier(String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (InventoryServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new InventoryServiceFileDescriptorSupplier())
              .addMethod(getGetItemMethod())
              .addMethod(getListItemsMethod())
              .addMethod(getAdjustStockMethod())
              .addMethod(getReserveMethod())
              .addMethod(getReleaseMethod())
              .addMethod(getWatchStockMethod())
              .addMethod(getImportItemsMethod())
              .build();
        }
      }
    }
    return result;
  }
}
