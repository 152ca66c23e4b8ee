package dev.tollgate.orders.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * OrdersService takes orders and follows them to fulfilment. Placing an order
 * reserves stock in the inventory service, which the orders service calls with
 * its own client credentials.
 * </pre>
 */
@javax.annotation.Generated(
    value = "by gRPC proto compiler",
    comments = "Source: tollgate/orders/v1/orders.proto")
@io.grpc.stub.annotations.GrpcGenerated
public final class OrdersServiceGrpc {

  private OrdersServiceGrpc() {}

  public static final String SERVICE_NAME = "tollgate.orders.v1.OrdersService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.tollgate.orders.v1.PlaceOrderRequest,
      dev.tollgate.orders.v1.PlaceOrderResponse> getPlaceOrderMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "PlaceOrder",
      requestType = dev.tollgate.orders.v1.PlaceOrderRequest.class,
      responseType = dev.tollgate.orders.v1.PlaceOrderResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.orders.v1.PlaceOrderRequest,
      dev.tollgate.orders.v1.PlaceOrderResponse> getPlaceOrderMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.orders.v1.PlaceOrderRequest, dev.tollgate.orders.v1.PlaceOrderResponse> getPlaceOrderMethod;
    if ((getPlaceOrderMethod = OrdersServiceGrpc.getPlaceOrderMethod) == null) {
      synchronized (OrdersServiceGrpc.class) {
        if ((getPlaceOrderMethod = OrdersServiceGrpc.getPlaceOrderMethod) == null) {
          OrdersServiceGrpc.getPlaceOrderMethod = getPlaceOrderMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.orders.v1.PlaceOrderRequest, dev.tollgate.orders.v1.PlaceOrderResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "PlaceOrder"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.PlaceOrderRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.PlaceOrderResponse.getDefaultInstance()))
              .setSchemaDescriptor(new OrdersServiceMethodDescriptorSupplier("PlaceOrder"))
              .build();
        }
      }
    }
    return getPlaceOrderMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.orders.v1.GetOrderRequest,
      dev.tollgate.orders.v1.GetOrderResponse> getGetOrderMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetOrder",
      requestType = dev.tollgate.orders.v1.GetOrderRequest.class,
      responseType = dev.tollgate.orders.v1.GetOrderResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.tollgate.orders.v1.GetOrderRequest,
      dev.tollgate.orders.v1.GetOrderResponse> getGetOrderMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.orders.v1.GetOrderRequest, dev.tollgate.orders.v1.GetOrderResponse> getGetOrderMethod;
    if ((getGetOrderMethod = OrdersServiceGrpc.getGetOrderMethod) == null) {
      synchronized (OrdersServiceGrpc.class) {
        if ((getGetOrderMethod = OrdersServiceGrpc.getGetOrderMethod) == null) {
          OrdersServiceGrpc.getGetOrderMethod = getGetOrderMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.orders.v1.GetOrderRequest, dev.tollgate.orders.v1.GetOrderResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetOrder"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.GetOrderRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.GetOrderResponse.getDefaultInstance()))
              .setSchemaDescriptor(new OrdersServiceMethodDescriptorSupplier("GetOrder"))
              .build();
        }
      }
    }
    return getGetOrderMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.tollgate.orders.v1.FulfilRequest,
      dev.tollgate.orders.v1.FulfilResponse> getFulfilMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Fulfil",
      requestType = dev.tollgate.orders.v1.FulfilRequest.class,
      responseType = dev.tollgate.orders.v1.FulfilResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
  public static io.grpc.MethodDescriptor<dev.tollgate.orders.v1.FulfilRequest,
      dev.tollgate.orders.v1.FulfilResponse> getFulfilMethod() {
    io.grpc.MethodDescriptor<dev.tollgate.orders.v1.FulfilRequest, dev.tollgate.orders.v1.FulfilResponse> getFulfilMethod;
    if ((getFulfilMethod = OrdersServiceGrpc.getFulfilMethod) == null) {
      synchronized (OrdersServiceGrpc.class) {
        if ((getFulfilMethod = OrdersServiceGrpc.getFulfilMethod) == null) {
          OrdersServiceGrpc.getFulfilMethod = getFulfilMethod =
              io.grpc.MethodDescriptor.<dev.tollgate.orders.v1.FulfilRequest, dev.tollgate.orders.v1.FulfilResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Fulfil"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.FulfilRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.tollgate.orders.v1.FulfilResponse.getDefaultInstance()))
              .setSchemaDescriptor(new OrdersServiceMethodDescriptorSupplier("Fulfil"))
              .build();
        }
      }
    }
    return getFulfilMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static OrdersServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrdersServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrdersServiceStub>() {
        @java.lang.Override
        public OrdersServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrdersServiceStub(channel, callOptions);
        }
      };
    return OrdersServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static OrdersServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrdersServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrdersServiceBlockingStub>() {
        @java.lang.Override
        public OrdersServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrdersServiceBlockingStub(channel, callOptions);
        }
      };
    return OrdersServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static OrdersServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrdersServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrdersServiceFutureStub>() {
        @java.lang.Override
        public OrdersServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrdersServiceFutureStub(channel, callOptions);
        }
      };
    return OrdersServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * OrdersService takes orders and follows them to fulfilment. Placing an order
   * reserves stock in the inventory service, which the orders service calls with
   * its own client credentials.
   * </pre>
   */
  public static abstract class OrdersServiceImplBase implements io.grpc.BindableService {

    /**
     * <pre>
     * PlaceOrder validates an order, reserves its stock and records it.
     * </pre>
     */
    public void placeOrder(dev.tollgate.orders.v1.PlaceOrderRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.PlaceOrderResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getPlaceOrderMethod(), responseObserver);
    }

    /**
     * <pre>
     * GetOrder returns one order by ID.
     * </pre>
     */
    public void getOrder(dev.tollgate.orders.v1.GetOrderRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.GetOrderResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetOrderMethod(), responseObserver);
    }

    /**
     * <pre>
     * Fulfil takes a stream of fulfilment updates and answers each with the
     * resulting state of its order.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.FulfilRequest> fulfil(
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.FulfilResponse> responseObserver) {
      return io.grpc.stub.ServerCalls.asyncUnimplementedStreamingCall(getFulfilMethod(), responseObserver);
    }

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
          .addMethod(
            getPlaceOrderMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.orders.v1.PlaceOrderRequest,
                dev.tollgate.orders.v1.PlaceOrderResponse>(
                  this, METHODID_PLACE_ORDER)))
          .addMethod(
            getGetOrderMethod(),
            io.grpc.stub.ServerCalls.asyncUnaryCall(
              new MethodHandlers<
                dev.tollgate.orders.v1.GetOrderRequest,
                dev.tollgate.orders.v1.GetOrderResponse>(
                  this, METHODID_GET_ORDER)))
          .addMethod(
            getFulfilMethod(),
            io.grpc.stub.ServerCalls.asyncBidiStreamingCall(
              new MethodHandlers<
                dev.tollgate.orders.v1.FulfilRequest,
                dev.tollgate.orders.v1.FulfilResponse>(
                  this, METHODID_FULFIL)))
          .build();
    }
  }

  /**
   * <pre>
   * OrdersService takes orders and follows them to fulfilment. Placing an order
   * reserves stock in the inventory service, which the orders service calls with
   * its own client credentials.
   * </pre>
   */
  public static final class OrdersServiceStub extends io.grpc.stub.AbstractAsyncStub<OrdersServiceStub> {
    private OrdersServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrdersServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrdersServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * PlaceOrder validates an order, reserves its stock and records it.
     * </pre>
     */
    public void placeOrder(dev.tollgate.orders.v1.PlaceOrderRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.PlaceOrderResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getPlaceOrderMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * GetOrder returns one order by ID.
     * </pre>
     */
    public void getOrder(dev.tollgate.orders.v1.GetOrderRequest request,
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.GetOrderResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetOrderMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Fulfil takes a stream of fulfilment updates and answers each with the
     * resulting state of its order.
     * </pre>
     */
    public io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.FulfilRequest> fulfil(
        io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.FulfilResponse> responseObserver) {
      return io.grpc.stub.ClientCalls.asyncBidiStreamingCall(
          getChannel().newCall(getFulfilMethod(), getCallOptions()), responseObserver);
    }
  }

  /**
   * <pre>
   * OrdersService takes orders and follows them to fulfilment. Placing an order
   * reserves stock in the inventory service, which the orders service calls with
   * its own client credentials.
   * </pre>
   */
  public static final class OrdersServiceBlockingStub extends io.grpc.stub.AbstractBlockingStub<OrdersServiceBlockingStub> {
    private OrdersServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrdersServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrdersServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * PlaceOrder validates an order, reserves its stock and records it.
     * </pre>
     */
    public dev.tollgate.orders.v1.PlaceOrderResponse placeOrder(dev.tollgate.orders.v1.PlaceOrderRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getPlaceOrderMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * GetOrder returns one order by ID.
     * </pre>
     */
    public dev.tollgate.orders.v1.GetOrderResponse getOrder(dev.tollgate.orders.v1.GetOrderRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetOrderMethod(), getCallOptions(), request);
    }
  }

  /**
   * <pre>
   * OrdersService takes orders and follows them to fulfilment. Placing an order
   * reserves stock in the inventory service, which the orders service calls with
   * its own client credentials.
   * </pre>
   */
  public static final class OrdersServiceFutureStub extends io.grpc.stub.AbstractFutureStub<OrdersServiceFutureStub> {
    private OrdersServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrdersServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrdersServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * PlaceOrder validates an order, reserves its stock and records it.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.orders.v1.PlaceOrderResponse> placeOrder(
        dev.tollgate.orders.v1.PlaceOrderRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getPlaceOrderMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * GetOrder returns one order by ID.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.tollgate.orders.v1.GetOrderResponse> getOrder(
        dev.tollgate.orders.v1.GetOrderRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetOrderMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_PLACE_ORDER = 0;
  private static final int METHODID_GET_ORDER = 1;
  private static final int METHODID_FULFIL = 2;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final OrdersServiceImplBase serviceImpl;
    private final int methodId;

    MethodHandlers(OrdersServiceImplBase serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_PLACE_ORDER:
          serviceImpl.placeOrder((dev.tollgate.orders.v1.PlaceOrderRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.PlaceOrderResponse>) responseObserver);
          break;
        case METHODID_GET_ORDER:
          serviceImpl.getOrder((dev.tollgate.orders.v1.GetOrderRequest) request,
              (io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.GetOrderResponse>) responseObserver);
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
        case METHODID_FULFIL:
          return (io.grpc.stub.StreamObserver<Req>) serviceImpl.fulfil(
              (io.grpc.stub.StreamObserver<dev.tollgate.orders.v1.FulfilResponse>) responseObserver);
        default:
          throw new AssertionError();
      }
    }
  }

  private static abstract class OrdersServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    OrdersServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.tollgate.orders.v1.OrdersProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("OrdersService");
    }
  }

  private static final class OrdersServiceFileDescriptorSupplier
      extends OrdersServiceBaseDescriptorSupplier {
    OrdersServiceFileDescriptorSupplier() {}
  }

  private static final class OrdersServiceMethodDescriptorSupplier
      extends OrdersServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final String methodName;

    OrdersServiceMethodDescriptorSupplier(String methodName) {
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
      synchronized (OrdersServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new OrdersServiceFileDescriptorSupplier())
              .addMethod(getPlaceOrderMethod())
              .addMethod(getGetOrderMethod())
              .addMethod(getFulfilMethod())
              .build();
        }
      }
    }
    return result;
  }
}
