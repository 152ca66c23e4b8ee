#!/usr/bin/python3
"""A Tollgate caller in Python with stock grpcio.

It gets an access token from the issuer's token endpoint with the OAuth 2.0
client-credentials grant (client_secret_basic, plain urllib), caches it and
refreshes it before it expires, sends it as gRPC call credentials over TLS
(trusting the suite's CA), and calls GetItem, ListItems (a server stream) and
PlaceOrder, with the client code generated from the repository's protos
(gen/clients/python).

On UNAUTHENTICATED it refreshes the token once and retries; on
PERMISSION_DENIED it reports the missing scopes from the google.rpc.ErrorInfo
detail. With --only watch it follows WatchStock, and when the server ends the
stream because its token expired (TOKEN_EXPIRED) it reopens it with a fresh
token. It prints one line per step and exits non-zero when a call fails.

    python3 tollgate_client.py --dev-json ../../.tollgate/dev.json --client admin
"""

import argparse
import base64
import json
import os
import ssl
import sys
import threading
import time
import urllib.request
import uuid

# The stubs buf generates from the repository's protos (buf.gen.clients.yaml):
# messages, type stubs and grpcio clients, committed under gen/clients/python.
# No __init__.py files: tollgate/ and google/rpc/ stay namespace packages, so
# google.protobuf from the system still resolves.
GENERATED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gen", "clients", "python")
sys.path.insert(0, GENERATED)

import grpc  # noqa: E402  (Debian: python3-grpcio)
from google.rpc import status_pb2  # noqa: E402
from tollgate.inventory.v1 import inventory_pb2, inventory_pb2_grpc  # noqa: E402
from tollgate.orders.v1 import orders_pb2, orders_pb2_grpc  # noqa: E402


class TokenSource:
    """Client-credentials tokens, cached and refreshed at 75% of their life."""

    def __init__(self, token_url, client_id, client_secret, ca_file, audience, tamper_first=False):
        self.token_url = token_url
        self.auth = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self.ctx = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.audience = audience
        self.tamper_next = tamper_first
        self.lock = threading.Lock()
        self.token, self.refresh_at, self.fetches = None, 0.0, 0

    def _fetch(self):
        body = "grant_type=client_credentials"
        if self.audience:
            body += "&audience=" + urllib.parse.quote(self.audience)
        req = urllib.request.Request(self.token_url, data=body.encode(), method="POST", headers={
            "Authorization": "Basic " + self.auth,
            "Content-Type": "application/x-www-form-urlencoded",
        })
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as resp:
                data = json.load(resp)
        except urllib.error.HTTPError as e:
            err = json.load(e)
            sys.exit(f"token endpoint refused: {e.code} {err.get('error')}: {err.get('error_description', '')}")
        self.fetches += 1
        token = data["access_token"]
        if self.tamper_next:  # for the demo: a token whose signature no longer matches
            self.tamper_next = False
            token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        lifetime = float(data.get("expires_in", 300))
        self.token, self.refresh_at = token, time.time() + 0.75 * lifetime

    def get(self, force=False):
        with self.lock:
            if force or self.token is None or time.time() >= self.refresh_at:
                self._fetch()
            return self.token


class BearerAuth:
    """grpc.AuthMetadataPlugin that sends the current token."""

    def __init__(self, source):
        self.source = source

    def __call__(self, context, callback):
        try:
            callback((("authorization", "Bearer " + self.source.get()),), None)
        except Exception as e:  # pylint: disable=broad-except
            callback((), e)


def error_info(err):
    """The google.rpc.ErrorInfo of a failed call, or None."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            for d in st.details:
                info = status_pb2.ErrorInfo()
                if d.Unpack(info):
                    return info
    return None


def call(name, fn, source):
    """Run fn; on UNAUTHENTICATED refresh the token once and retry."""
    for attempt in (1, 2):
        try:
            return fn()
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNAUTHENTICATED and attempt == 1:
                info = error_info(err)
                print(f"{name}: UNAUTHENTICATED ({info.reason if info else err.details()}); refreshing the token and retrying once")
                source.get(force=True)
                continue
            if err.code() == grpc.StatusCode.PERMISSION_DENIED:
                info = error_info(err)
                missing = info.metadata.get("missing_scopes", "?") if info else "?"
                print(f"{name}: PERMISSION_DENIED, missing scope: {missing} (reason {info.reason if info else '?'})")
            else:
                print(f"{name}: {err.code().name}: {err.details()}")
            raise SystemExit(1)


def watch(inv, source, reopens):
    """Follow WatchStock for widget-1, reopening the stream with a fresh token
    each time the server ends it because its token expired, until the stream
    has been reopened `reopens` times and delivered again."""
    reopened = 0
    while True:
        stream = inv.WatchStock(inventory_pb2.WatchStockRequest(skus=["widget-1"]))
        try:
            for resp in stream:
                print(f"WatchStock: {resp.item.sku} on hand {resp.item.quantity_on_hand}", flush=True)
                if reopened >= reopens:
                    stream.cancel()
                    return
        except grpc.RpcError as err:
            info = error_info(err)
            if err.code() == grpc.StatusCode.UNAUTHENTICATED and info and info.reason == "TOKEN_EXPIRED":
                print("WatchStock: token expired (TOKEN_EXPIRED); reopening with a fresh token", flush=True)
                reopened += 1
                source.get(force=True)
                continue
            print(f"WatchStock: {err.code().name}: {err.details()}")
            raise SystemExit(1)
        return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dev-json", required=True, help="the dev.json that `tollgate dev` writes")
    ap.add_argument("--client", default="admin", help="dev client name")
    ap.add_argument("--tamper-first-token", action="store_true", help="corrupt the first token to show the refresh-and-retry path")
    ap.add_argument("--only", choices=["read", "order", "watch"],
                    help="run only the reads, only PlaceOrder, or only the WatchStock follower")
    ap.add_argument("--watch-reopens", type=int, default=1, help="with --only watch: reopenings to wait for")
    args = ap.parse_args()

    with open(args.dev_json) as f:
        dev = json.load(f)
    client = next((c for c in dev["clients"] if c["name"] == args.client), None)
    if client is None:
        sys.exit(f"no dev client {args.client!r} in {args.dev_json}")
    ca = dev.get("ca_file") or None
    if not ca:
        sys.exit("the suite serves plaintext; this client only sends tokens over TLS")
    with open(ca, "rb") as f:
        channel_creds = grpc.ssl_channel_credentials(root_certificates=f.read())

    def channel(service, audience):
        source = TokenSource(dev["token_endpoint"], client["client_id"], client["client_secret"], ca, audience,
                             tamper_first=args.tamper_first_token)
        creds = grpc.composite_channel_credentials(channel_creds, grpc.metadata_call_credentials(BearerAuth(source)))
        return grpc.secure_channel(dev["services"][service], creds), source

    if args.only in (None, "read"):
        inv_channel, inv_source = channel("inventory", "inventory")
        inv = inventory_pb2_grpc.InventoryServiceStub(inv_channel)
        item = call("GetItem", lambda: inv.GetItem(inventory_pb2.GetItemRequest(sku="widget-1"), timeout=10), inv_source)
        print(f"GetItem: {item.item.sku} on hand {item.item.quantity_on_hand}")
        skus = call("ListItems", lambda: [i.sku for page in inv.ListItems(inventory_pb2.ListItemsRequest(page_size=2), timeout=10)
                                          for i in page.items], inv_source)
        print(f"ListItems: {len(skus)} items: {' '.join(skus)}")
    if args.only == "watch":
        watch_channel, watch_source = channel("inventory", "inventory")
        watch(inventory_pb2_grpc.InventoryServiceStub(watch_channel), watch_source, args.watch_reopens)
    if args.only in (None, "order"):
        ord_channel, ord_source = channel("orders", "orders")
        orders = orders_pb2_grpc.OrdersServiceStub(ord_channel)
        req = orders_pb2.PlaceOrderRequest(order_id="py-" + uuid.uuid4().hex[:12],
                                           lines=[orders_pb2.OrderLine(sku="widget-1", quantity=1)])
        resp = call("PlaceOrder", lambda: orders.PlaceOrder(req, timeout=10), ord_source)
        print(f"PlaceOrder: {resp.order.order_id} {orders_pb2.OrderState.Name(resp.order.state)}")
    print("done")


if __name__ == "__main__":
    main()
