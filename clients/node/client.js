#!/usr/bin/env node
// A Tollgate caller in Node.js with stock @grpc/grpc-js and @grpc/proto-loader.
//
// It gets an access token from the issuer's token endpoint with the OAuth 2.0
// client-credentials grant (client_secret_basic, plain https), caches it and
// refreshes it before expiry, sends it through gRPC call credentials over TLS
// (trusting the suite's CA), and calls GetItem, ListItems (a server stream)
// and PlaceOrder, loading the service definitions from the repository's
// proto/ directory.
//
// On UNAUTHENTICATED it refreshes the token once and retries; on
// PERMISSION_DENIED it reports the missing scopes from the google.rpc.ErrorInfo
// detail. With --only watch it follows WatchStock, and when the server ends the
// stream because its token expired (TOKEN_EXPIRED) it reopens it with a fresh
// token. It prints one line per step and exits non-zero when a call fails.
//
//   node client.js --dev-json ../../.tollgate/dev.json --client admin
'use strict';

const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', '..', 'proto');
const RPC_ROOT = path.join(__dirname, '..', 'rpc');

function parseArgs(argv) {
  const args = { client: 'admin', tamperFirstToken: false, only: null, watchReopens: 1 };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--dev-json': args.devJson = argv[++i]; break;
      case '--client': args.client = argv[++i]; break;
      case '--tamper-first-token': args.tamperFirstToken = true; break;
      case '--only': args.only = argv[++i]; break;
      case '--watch-reopens': args.watchReopens = Number(argv[++i]); break;
      default: fail(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.devJson) fail('--dev-json is required');
  if (args.only && !['read', 'order', 'watch'].includes(args.only)) fail('--only takes read, order or watch');
  if (!Number.isInteger(args.watchReopens) || args.watchReopens < 0) fail('--watch-reopens takes a whole number');
  return args;
}

function fail(msg) {
  console.error(`tollgate-node-client: ${msg}`);
  process.exit(2);
}

// TokenSource fetches client-credentials tokens and refreshes them once 75%
// of their lifetime has passed.
class TokenSource {
  constructor({ tokenURL, clientID, clientSecret, ca, audience, tamperFirst }) {
    this.url = new URL(tokenURL);
    this.basic = Buffer.from(`${clientID}:${clientSecret}`).toString('base64');
    this.ca = ca;
    this.audience = audience;
    this.tamperNext = tamperFirst;
    this.token = null;
    this.refreshAt = 0;
    this.pending = null;
  }

  fetch() {
    const body = new URLSearchParams({ grant_type: 'client_credentials', audience: this.audience }).toString();
    return new Promise((resolve, reject) => {
      const req = https.request(this.url, {
        method: 'POST', ca: this.ca, timeout: 10000,
        headers: {
          Authorization: `Basic ${this.basic}`,
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
        },
      }, (res) => {
        let data = '';
        res.on('data', (c) => { data += c; });
        res.on('end', () => {
          let json;
          try { json = JSON.parse(data); } catch (e) { return reject(new Error(`token endpoint ${this.url}: ${res.statusCode}, not JSON`)); }
          if (res.statusCode !== 200) {
            return reject(new Error(`token endpoint refused: ${res.statusCode} ${json.error}: ${json.error_description || ''}`));
          }
          let token = json.access_token;
          if (this.tamperNext) { // for the demo: a token whose signature no longer matches
            this.tamperNext = false;
            token = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
          }
          this.token = token;
          this.refreshAt = Date.now() + 750 * (json.expires_in || 300);
          resolve(token);
        });
      });
      req.on('timeout', () => req.destroy(new Error(`token endpoint ${this.url}: timeout`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  // get returns a valid token; concurrent callers share one refresh.
  get(force = false) {
    if (!force && this.token && Date.now() < this.refreshAt) return Promise.resolve(this.token);
    if (!this.pending) this.pending = this.fetch().finally(() => { this.pending = null; });
    return this.pending;
  }
}

// google.rpc.Status and ErrorInfo, for the grpc-status-details-bin trailer
// (protobufjs comes with @grpc/proto-loader).
const protobuf = require('protobufjs');
const rpcRoot = protobuf.loadSync(path.join(RPC_ROOT, 'google', 'rpc', 'status.proto'));
const StatusType = rpcRoot.lookupType('google.rpc.Status');
const ErrorInfoType = rpcRoot.lookupType('google.rpc.ErrorInfo');

function errorInfo(err) {
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return null;
  const status = StatusType.decode(raw);
  for (const any of status.details) {
    const url = any.type_url || any.typeUrl || '';
    if (url.endsWith('/google.rpc.ErrorInfo')) return ErrorInfoType.decode(any.value);
  }
  return null;
}

// call runs fn; on UNAUTHENTICATED it refreshes the token once and retries.
async function call(name, fn, source) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err.code === grpc.status.UNAUTHENTICATED && attempt === 1) {
        const info = errorInfo(err);
        console.log(`${name}: UNAUTHENTICATED (${info ? info.reason : err.details}); refreshing the token and retrying once`);
        await source.get(true);
        continue;
      }
      if (err.code === grpc.status.PERMISSION_DENIED) {
        const info = errorInfo(err);
        const missing = info && info.metadata ? info.metadata.missing_scopes : '?';
        console.log(`${name}: PERMISSION_DENIED, missing scope: ${missing} (reason ${info ? info.reason : '?'})`);
      } else {
        console.log(`${name}: ${grpc.status[err.code] || err.code}: ${err.details || err.message}`);
      }
      process.exit(1);
    }
  }
}

// watch follows WatchStock for widget-1, reopening the stream with a fresh
// token each time the server ends it because its token expired, until it has
// been reopened `reopens` times and delivered again.
async function watch(inv, source, reopens) {
  for (let reopened = 0; ;) {
    const outcome = await new Promise((resolve) => {
      const stream = inv.WatchStock({ skus: ['widget-1'] });
      stream.on('data', (resp) => {
        console.log(`WatchStock: ${resp.item.sku} on hand ${resp.item.quantityOnHand}`);
        if (reopened >= reopens) {
          stream.cancel();
          resolve({ done: true });
        }
      });
      stream.on('error', (err) => resolve({ err }));
      stream.on('end', () => resolve({ done: true }));
    });
    if (outcome.done) return;
    const { err } = outcome;
    const info = errorInfo(err);
    if (err.code === grpc.status.UNAUTHENTICATED && info && info.reason === 'TOKEN_EXPIRED') {
      console.log('WatchStock: token expired (TOKEN_EXPIRED); reopening with a fresh token');
      reopened++;
      await source.get(true);
      continue;
    }
    console.log(`WatchStock: ${grpc.status[err.code] || err.code}: ${err.details || err.message}`);
    process.exit(1);
  }
}

const promisify = (client, method) => (req) => new Promise((resolve, reject) => {
  client[method](req, { deadline: Date.now() + 10000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
});

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const dev = JSON.parse(fs.readFileSync(args.devJson, 'utf8'));
  const client = dev.clients.find((c) => c.name === args.client);
  if (!client) fail(`no dev client ${args.client} in ${args.devJson}`);
  if (!dev.ca_file) fail('the suite serves plaintext; this client only sends tokens over TLS');
  const ca = fs.readFileSync(dev.ca_file);

  const def = protoLoader.loadSync(
    ['tollgate/inventory/v1/inventory.proto', 'tollgate/orders/v1/orders.proto'],
    { includeDirs: [PROTO_ROOT], keepCase: false, longs: Number, enums: String, defaults: true },
  );
  const pkg = grpc.loadPackageDefinition(def);

  const channel = (service, audience, Ctor) => {
    const source = new TokenSource({
      tokenURL: dev.token_endpoint, clientID: client.client_id, clientSecret: client.client_secret,
      ca, audience, tamperFirst: args.tamperFirstToken,
    });
    const callCreds = grpc.credentials.createFromMetadataGenerator((_params, cb) => {
      source.get().then((t) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${t}`);
        cb(null, md);
      }, (e) => cb(e));
    });
    const creds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), callCreds);
    // Node warns (DEP0123) when TLS is asked to name an IP address as the
    // server: for the suite's loopback addresses, name localhost, which its
    // certificates carry beside 127.0.0.1.
    const host = dev.services[service].replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const opts = net.isIP(host) ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {};
    return { stub: new Ctor(dev.services[service], creds, opts), source };
  };

  if (args.only === null || args.only === 'read') {
    const { stub: inv, source } = channel('inventory', 'inventory', pkg.tollgate.inventory.v1.InventoryService);
    const item = await call('GetItem', () => promisify(inv, 'GetItem')({ sku: 'widget-1' }), source);
    console.log(`GetItem: ${item.item.sku} on hand ${item.item.quantityOnHand}`);
    const skus = await call('ListItems', () => new Promise((resolve, reject) => {
      const got = [];
      const stream = inv.ListItems({ pageSize: 2 }, { deadline: Date.now() + 10000 });
      stream.on('data', (page) => page.items.forEach((i) => got.push(i.sku)));
      stream.on('error', reject);
      stream.on('end', () => resolve(got));
    }), source);
    console.log(`ListItems: ${skus.length} items: ${skus.join(' ')}`);
    inv.close();
  }
  if (args.only === 'watch') {
    const { stub: inv, source } = channel('inventory', 'inventory', pkg.tollgate.inventory.v1.InventoryService);
    await watch(inv, source, args.watchReopens);
    inv.close();
  }
  if (args.only === null || args.only === 'order') {
    const { stub: orders, source } = channel('orders', 'orders', pkg.tollgate.orders.v1.OrdersService);
    const req = { orderId: `node-${crypto.randomUUID().slice(0, 12)}`, lines: [{ sku: 'widget-1', quantity: 1 }] };
    const resp = await call('PlaceOrder', () => promisify(orders, 'PlaceOrder')(req), source);
    console.log(`PlaceOrder: ${resp.order.orderId} ${resp.order.state}`);
    orders.close();
  }
  console.log('done');
}

main().catch((e) => { console.error(`tollgate-node-client: ${e.message}`); process.exit(1); });
