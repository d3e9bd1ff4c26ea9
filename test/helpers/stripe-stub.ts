import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/**
 * A local stand-in for the part of Stripe's HTTP API the gateway calls, listening on
 * 127.0.0.1 (a random port). The real `stripe` SDK is pointed at it with host/port/protocol
 * (`apiBaseUrl` below), so tests exercise the SDK's own request building, error classes and
 * retries with no network. Answers follow Stripe's API reference: objects as JSON, errors as
 * `{error: {type, code?, message, param?}}` with a `request-id` header.
 *
 * Routes: GET /v1/accounts/{id}, GET /v1/payment_intents/{id} (honours `expand[]=latest_charge`),
 * GET /v1/charges/{id}. Anything else is a 404 `resource_missing`, and is logged like the rest.
 */

export type Json = Record<string, unknown>;

export interface StubRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  /** The bearer credential sent, verbatim (tests assert which key was used). */
  bearer: string | null;
  stripeVersion: string | null;
  stripeAccount: string | null;
  idempotencyKey: string | null;
  userAgent: string | null;
}

export interface StripeStub {
  /** `http://127.0.0.1:<port>`: give it to the client as its API base URL. */
  readonly apiBaseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: 'http';
  /** The one key the stub accepts; any other bearer gets 401. */
  readonly secretKey: string;
  /** Every request received, oldest first. */
  readonly requests: StubRequest[];
  /** Serve this object at its own id, or at `at` (to serve a malformed answer). */
  setAccount(account: Json, at?: string): void;
  setPaymentIntent(paymentIntent: Json, at?: string): void;
  setCharge(charge: Json, at?: string): void;
  remove(id: string): void;
  /** Answer the next `times` requests with this status (and Stripe-style error body) instead. */
  failNext(status: number, options?: { times?: number; error?: Json; headers?: Record<string, string> }): void;
  close(): Promise<void>;
}

let sequence = 0;
const nextId = (prefix: string) => `${prefix}_${Date.now().toString(36)}${(sequence++).toString(36).padStart(4, '0')}Stub`;

/** A Connect account as Stripe returns it. `achDebit` sets `capabilities.us_bank_account_ach_payments` (omit: not requested). */
export function accountFixture(options: {
  id?: string;
  chargesEnabled?: boolean;
  payoutsEnabled?: boolean;
  detailsSubmitted?: boolean;
  achDebit?: 'active' | 'inactive' | 'pending';
  transfers?: 'active' | 'inactive' | 'pending';
  disabledReason?: string | null;
  livemode?: boolean;
} = {}): Json {
  const capabilities: Json = { card_payments: 'active', transfers: options.transfers ?? 'active' };
  if (options.achDebit) capabilities.us_bank_account_ach_payments = options.achDebit;
  return {
    id: options.id ?? nextId('acct'),
    object: 'account',
    type: 'express',
    country: 'US',
    default_currency: 'usd',
    business_type: 'company',
    charges_enabled: options.chargesEnabled ?? true,
    payouts_enabled: options.payoutsEnabled ?? true,
    details_submitted: options.detailsSubmitted ?? true,
    capabilities,
    requirements: { currently_due: [], disabled_reason: options.disabledReason ?? null },
    created: 1_700_000_000,
    metadata: {},
    ...(options.livemode === undefined ? {} : { livemode: options.livemode }),
  };
}

export function paymentIntentFixture(options: {
  id?: string;
  status: string;
  amount?: number;
  currency?: string;
  captureMethod?: 'automatic' | 'automatic_async' | 'manual';
  livemode?: boolean;
  lastPaymentError?: { code?: string; type?: string } | null;
  latestCharge?: string | null;
  destination?: string | null;
  metadata?: Record<string, string>;
  cancellationReason?: string | null;
}): Json {
  const amount = options.amount ?? 1000;
  return {
    id: options.id ?? nextId('pi'),
    object: 'payment_intent',
    amount,
    amount_capturable: options.status === 'requires_capture' ? amount : 0,
    amount_received: options.status === 'succeeded' ? amount : 0,
    capture_method: options.captureMethod ?? 'automatic_async',
    currency: options.currency ?? 'usd',
    livemode: options.livemode ?? false,
    status: options.status,
    last_payment_error: options.lastPaymentError ? { type: 'card_error', ...options.lastPaymentError } : null,
    latest_charge: options.latestCharge ?? null,
    cancellation_reason: options.cancellationReason ?? null,
    transfer_data: options.destination ? { destination: options.destination } : null,
    metadata: options.metadata ?? {},
    created: 1_700_000_000,
  };
}

export function chargeFixture(options: { id?: string; paymentIntent: string; amount?: number; refunded?: boolean; amountRefunded?: number; livemode?: boolean }): Json {
  const amount = options.amount ?? 1000;
  return {
    id: options.id ?? nextId('ch'),
    object: 'charge',
    amount,
    amount_refunded: options.amountRefunded ?? (options.refunded ? amount : 0),
    refunded: options.refunded ?? false,
    paid: true,
    status: 'succeeded',
    payment_intent: options.paymentIntent,
    currency: 'usd',
    livemode: options.livemode ?? false,
  };
}

/** A webhook event body as Stripe sends it. */
export function stripeEvent(type: string, object: Json, options: { id?: string; livemode?: boolean; account?: string; created?: number } = {}): Json {
  return {
    id: options.id ?? nextId('evt'),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: options.created ?? Math.floor(Date.now() / 1000),
    livemode: options.livemode ?? false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
    ...(options.account ? { account: options.account } : {}),
  };
}

/** The `Stripe-Signature` header Stripe would send for `payload`, made with Stripe's own test signer. */
export function signStripeWebhook(payload: string, secret: string, timestampSeconds?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestampSeconds === undefined ? {} : { timestamp: timestampSeconds }) });
}

function stripeError(status: number, error: Json): { status: number; body: Json } {
  return { status, body: { error: { type: 'invalid_request_error', ...error } } };
}

const notFound = (kind: string, id: string, param: string) =>
  stripeError(404, { code: 'resource_missing', message: `No such ${kind}: '${id}'`, param });

export async function startStripeStub(options: { secretKey?: string } = {}): Promise<StripeStub> {
  const secretKey = options.secretKey ?? `sk_test_${'stub'.repeat(6)}`;
  const accounts = new Map<string, Json>();
  const paymentIntents = new Map<string, Json>();
  const charges = new Map<string, Json>();
  const requests: StubRequest[] = [];
  const failures: Array<{ status: number; error?: Json; headers?: Record<string, string> }> = [];

  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': nextId('req'), ...headers });
    res.end(text);
  };

  const route = (req: IncomingMessage, url: URL, query: Record<string, string[]>): { status: number; body: Json } => {
    if (req.method !== 'GET') return stripeError(404, { code: 'resource_missing', message: `Unrecognized request URL (${req.method}: ${url.pathname})` });
    const match = /^\/v1\/(accounts|payment_intents|charges)\/([^/]+)$/.exec(url.pathname);
    if (!match) return stripeError(404, { message: `Unrecognized request URL (GET: ${url.pathname})` });
    const [, collection, rawId] = match;
    const id = decodeURIComponent(rawId!);
    if (collection === 'accounts') {
      const account = accounts.get(id);
      return account ? { status: 200, body: account } : notFound('account', id, 'account');
    }
    if (collection === 'charges') {
      const charge = charges.get(id);
      return charge ? { status: 200, body: charge } : notFound('charge', id, 'id');
    }
    const pi = paymentIntents.get(id);
    if (!pi) return notFound('payment_intent', id, 'intent');
    const expand = [...(query['expand[]'] ?? []), ...Object.entries(query).filter(([k]) => /^expand\[\d+\]$/.test(k)).flatMap(([, v]) => v)];
    if (expand.includes('latest_charge') && typeof pi.latest_charge === 'string') {
      return { status: 200, body: { ...pi, latest_charge: charges.get(pi.latest_charge) ?? pi.latest_charge } };
    }
    return { status: 200, body: pi };
  };

  const server = createServer((req, res) => {
    // Drain any body so keep-alive connections stay usable; none of these routes reads one.
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const query: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
      const auth = req.headers.authorization ?? null;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : null;
      const header = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : null;
      };
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query,
        bearer,
        stripeVersion: header('stripe-version'),
        stripeAccount: header('stripe-account'),
        idempotencyKey: header('idempotency-key'),
        userAgent: header('user-agent'),
      });
      const failure = failures.shift();
      if (failure) {
        const fallback = failure.status === 429 ? { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } : { type: 'api_error', message: 'Stub failure' };
        return send(res, failure.status, { error: failure.error ?? fallback }, failure.headers);
      }
      if (bearer !== secretKey) {
        const shown = bearer ? `${bearer.slice(0, 8)}****${bearer.slice(-4)}` : '';
        const { status, body } = stripeError(401, { message: bearer ? `Invalid API Key provided: ${shown}` : 'You did not provide an API key.' });
        return send(res, status, body, { 'www-authenticate': 'Bearer realm="Stripe"' });
      }
      const { status, body } = route(req, url, query);
      send(res, status, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    apiBaseUrl: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    secretKey,
    requests,
    setAccount: (a, at) => void accounts.set(at ?? String(a.id), a),
    setPaymentIntent: (p, at) => void paymentIntents.set(at ?? String(p.id), p),
    setCharge: (c, at) => void charges.set(at ?? String(c.id), c),
    remove: (id) => void (accounts.delete(id) || paymentIntents.delete(id) || charges.delete(id)),
    failNext(status, opts = {}) {
      for (let i = 0; i < (opts.times ?? 1); i++) failures.push({ status, ...(opts.error ? { error: opts.error } : {}), ...(opts.headers ? { headers: opts.headers } : {}) });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
