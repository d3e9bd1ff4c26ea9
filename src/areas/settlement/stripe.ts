import Stripe from 'stripe';

/**
 * A thin client over the official `stripe` package for what settlement needs: read a Connect
 * account (destination linking), read a PaymentIntent (reconcile), and verify inbound webhook
 * signatures. Everything returned is normalised into small snake_case records so the rest of
 * the area never handles the SDK's types; every failure is a {@link StripeCallError} with a
 * stable code.
 */

/** The API version requests are pinned to: the one this package version was generated for. */
export const STRIPE_API_VERSION = Stripe.API_VERSION;

export type StripeErrorCode =
  | 'stripe_not_configured'
  | 'stripe_api_base_url_invalid'
  | 'stripe_account_id_invalid'
  | 'stripe_payment_intent_id_invalid'
  | 'stripe_account_not_found'
  | 'stripe_payment_intent_not_found'
  | 'stripe_authentication_failed'
  | 'stripe_permission_denied'
  | 'stripe_rate_limited'
  | 'stripe_unavailable'
  | 'stripe_request_failed'
  | 'stripe_response_invalid';

export class StripeCallError extends Error {
  readonly code: StripeErrorCode;
  /** Stripe's HTTP status when Stripe answered; null for local refusals and network failures. */
  readonly upstreamStatus: number | null;
  /** Stripe's `request-id`, for support tickets. */
  readonly requestId: string | null;
  /** Whether retrying later can succeed (rate limit, outage). */
  readonly retryable: boolean;
  constructor(code: StripeErrorCode, message: string, extra: { upstreamStatus?: number | null; requestId?: string | null; retryable?: boolean } = {}) {
    super(message);
    this.name = 'StripeCallError';
    this.code = code;
    this.upstreamStatus = extra.upstreamStatus ?? null;
    this.requestId = extra.requestId ?? null;
    this.retryable = extra.retryable ?? false;
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export interface StripeApiEndpoint {
  host: string;
  port: number;
  protocol: 'http' | 'https';
}

/**
 * Parse an API base URL into the SDK's host/port/protocol. Plain http is accepted for loopback
 * hosts only, so a misconfiguration can never send the secret key over the network in clear.
 */
export function parseStripeApiBaseUrl(raw: string): StripeApiEndpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new StripeCallError('stripe_api_base_url_invalid', 'STRIPE_API_BASE_URL must be an absolute http(s) URL');
  }
  const protocol = url.protocol === 'https:' ? 'https' : url.protocol === 'http:' ? 'http' : null;
  if (!protocol) throw new StripeCallError('stripe_api_base_url_invalid', 'STRIPE_API_BASE_URL must use https (or http to a loopback host)');
  if (protocol === 'http' && !LOOPBACK.test(url.hostname)) {
    throw new StripeCallError('stripe_api_base_url_invalid', 'STRIPE_API_BASE_URL may use plain http only for localhost, 127.x or [::1]');
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new StripeCallError('stripe_api_base_url_invalid', 'STRIPE_API_BASE_URL must be scheme, host and port only (the SDK adds /v1/…)');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : protocol === 'https' ? 443 : 80;
  return { host, port, protocol };
}

/** Which Stripe mode a secret key belongs to, from its documented prefix. */
export function stripeKeyMode(secretKey: string): 'live' | 'test' | null {
  const m = /^(?:sk|rk)_(live|test)_/.exec(secretKey);
  return m ? (m[1] as 'live' | 'test') : null;
}

// ---------------------------------------------------------------------------------------------
// Normalised records

/**
 * A Connect capability's status as Stripe reports it (`active`, `inactive`, `pending`, or a value
 * added later), or `not_requested` when the account does not list the capability at all.
 */
export type CapabilityStatus = 'active' | 'inactive' | 'pending' | 'not_requested' | (string & {});

export interface ConnectAccountState {
  account_id: string;
  charges_enabled: boolean;
  payouts_enabled: boolean;
  details_submitted: boolean;
  /** `capabilities.us_bank_account_ach_payments`: ACH Direct Debit. */
  ach_debit_capability: CapabilityStatus;
  transfers_capability: CapabilityStatus;
  card_payments_capability: CapabilityStatus;
  /** `requirements.disabled_reason`, when Stripe has disabled the account. */
  disabled_reason: string | null;
  country: string | null;
  default_currency: string | null;
  /**
   * Account objects carry no `livemode` field in Stripe's API reference; the mode is that of the
   * key that read it (an object's own `livemode`, when present, wins).
   */
  livemode: boolean;
}

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded'
  | (string & {});

export interface PaymentIntentState {
  payment_intent_id: string;
  status: PaymentIntentStatus;
  amount: number;
  amount_received: number;
  amount_capturable: number;
  currency: string;
  capture_method: string;
  livemode: boolean;
  /** `last_payment_error.code` (or its type): a failed attempt leaves the intent in requires_payment_method. */
  last_payment_error: string | null;
  cancellation_reason: string | null;
  latest_charge_id: string | null;
  /** From the expanded latest charge; null when the charge was not expanded or there is none. */
  charge_refunded: boolean | null;
  amount_refunded: number | null;
  /** `transfer_data.destination` of a destination charge. */
  transfer_destination: string | null;
  metadata: Record<string, string>;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** Normalise a raw Account object (from a retrieve or an `account.updated` event). */
export function toConnectAccountState(raw: unknown, keyLivemode: boolean): ConnectAccountState {
  const a = obj(raw);
  const id = str(a?.id);
  if (!a || !id || !id.startsWith('acct_')) throw new StripeCallError('stripe_response_invalid', 'Stripe returned something that is not an account');
  const caps = obj(a.capabilities) ?? {};
  const cap = (name: string): CapabilityStatus => str(caps[name]) ?? 'not_requested';
  return {
    account_id: id,
    charges_enabled: a.charges_enabled === true,
    payouts_enabled: a.payouts_enabled === true,
    details_submitted: a.details_submitted === true,
    ach_debit_capability: cap('us_bank_account_ach_payments'),
    transfers_capability: cap('transfers'),
    card_payments_capability: cap('card_payments'),
    disabled_reason: str(obj(a.requirements)?.disabled_reason),
    country: str(a.country),
    default_currency: str(a.default_currency),
    livemode: typeof a.livemode === 'boolean' ? a.livemode : keyLivemode,
  };
}

/** Normalise a raw PaymentIntent object (from a retrieve or a `payment_intent.*` event). */
export function toPaymentIntentState(raw: unknown): PaymentIntentState {
  const p = obj(raw);
  const id = str(p?.id);
  if (!p || !id || !id.startsWith('pi_') || typeof p.status !== 'string') {
    throw new StripeCallError('stripe_response_invalid', 'Stripe returned something that is not a PaymentIntent');
  }
  const charge = obj(p.latest_charge);
  const error = obj(p.last_payment_error);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(p.metadata) ?? {})) if (typeof v === 'string') metadata[k] = v;
  return {
    payment_intent_id: id,
    status: p.status,
    amount: num(p.amount),
    amount_received: num(p.amount_received),
    amount_capturable: num(p.amount_capturable),
    currency: str(p.currency) ?? '',
    capture_method: str(p.capture_method) ?? 'automatic',
    livemode: p.livemode === true,
    last_payment_error: error ? (str(error.code) ?? str(error.type) ?? 'payment_error') : null,
    cancellation_reason: str(p.cancellation_reason),
    latest_charge_id: charge ? str(charge.id) : str(p.latest_charge),
    charge_refunded: charge ? charge.refunded === true : null,
    amount_refunded: charge ? num(charge.amount_refunded) : null,
    transfer_destination: str(obj(p.transfer_data)?.destination),
    metadata,
  };
}

// ---------------------------------------------------------------------------------------------
// Client

export interface StripeClientOptions {
  secretKey: string | undefined;
  /** e.g. `http://127.0.0.1:12111` for a local stand-in; default Stripe's own API host. */
  apiBaseUrl?: string;
  /** Per-request timeout (the SDK's default is 80 s, too long to hold a gateway request). */
  timeoutMs?: number;
  /** The SDK retries connection errors, 409s and 5xx with backoff, with its own idempotency keys. */
  maxNetworkRetries?: number;
  appVersion?: string;
}

export interface SettlementStripeClient {
  readonly keyMode: 'live' | 'test';
  retrieveAccount(accountId: string): Promise<ConnectAccountState>;
  /** Retrieves with the latest charge expanded, so refunds are visible. */
  retrievePaymentIntent(paymentIntentId: string): Promise<PaymentIntentState>;
}

const ACCOUNT_ID = /^acct_[0-9A-Za-z]{1,255}$/;
const PAYMENT_INTENT_ID = /^pi_[0-9A-Za-z]{1,255}$/;

/** Map the SDK's error classes to our codes; `notFound` names the missing resource. */
function mapStripeError(error: unknown, notFound: 'stripe_account_not_found' | 'stripe_payment_intent_not_found'): StripeCallError {
  if (!(error instanceof Stripe.errors.StripeError)) {
    return new StripeCallError('stripe_unavailable', 'Stripe could not be reached', { retryable: true });
  }
  const extra = { upstreamStatus: error.statusCode ?? null, requestId: error.requestId ?? null };
  if (error instanceof Stripe.errors.StripeConnectionError) return new StripeCallError('stripe_unavailable', 'Stripe could not be reached', { ...extra, retryable: true });
  if (error instanceof Stripe.errors.StripeAuthenticationError) return new StripeCallError('stripe_authentication_failed', 'Stripe refused the configured API key', extra);
  if (error instanceof Stripe.errors.StripePermissionError) return new StripeCallError('stripe_permission_denied', 'The configured Stripe key may not read this object', extra);
  if (error instanceof Stripe.errors.StripeRateLimitError) return new StripeCallError('stripe_rate_limited', 'Stripe rate-limited the request', { ...extra, retryable: true });
  if (error.statusCode === 404 || error.code === 'resource_missing') {
    return new StripeCallError(notFound, notFound === 'stripe_account_not_found' ? 'Stripe has no such account for this platform' : 'Stripe has no such PaymentIntent', extra);
  }
  if (error instanceof Stripe.errors.StripeAPIError || (error.statusCode ?? 0) >= 500) {
    return new StripeCallError('stripe_unavailable', 'Stripe answered with a server error', { ...extra, retryable: true });
  }
  return new StripeCallError('stripe_request_failed', `Stripe refused the request (${error.code ?? error.type})`, extra);
}

export function createStripeClient(options: StripeClientOptions): SettlementStripeClient {
  const key = options.secretKey?.trim();
  if (!key) throw new StripeCallError('stripe_not_configured', 'No Stripe secret key is configured (STRIPE_SECRET_KEY)');
  const keyMode = stripeKeyMode(key);
  if (!keyMode) throw new StripeCallError('stripe_not_configured', 'STRIPE_SECRET_KEY is not a Stripe secret or restricted key');
  const endpoint = options.apiBaseUrl ? parseStripeApiBaseUrl(options.apiBaseUrl) : undefined;
  const stripe = new Stripe(key, {
    apiVersion: STRIPE_API_VERSION,
    ...(endpoint ?? {}),
    timeout: options.timeoutMs ?? 10_000,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    // Latency telemetry is a header about our previous request; nothing here needs it.
    telemetry: false,
    appInfo: { name: 'paybond-gateway', version: options.appVersion ?? '0' },
  });
  return {
    keyMode,
    async retrieveAccount(accountId) {
      if (typeof accountId !== 'string' || !ACCOUNT_ID.test(accountId)) {
        throw new StripeCallError('stripe_account_id_invalid', 'A Connect account id looks like acct_ followed by letters and digits');
      }
      let raw: unknown;
      try {
        raw = await stripe.accounts.retrieve(accountId);
      } catch (error) {
        throw mapStripeError(error, 'stripe_account_not_found');
      }
      return toConnectAccountState(raw, keyMode === 'live');
    },
    async retrievePaymentIntent(paymentIntentId) {
      if (typeof paymentIntentId !== 'string' || !PAYMENT_INTENT_ID.test(paymentIntentId)) {
        throw new StripeCallError('stripe_payment_intent_id_invalid', 'A PaymentIntent id looks like pi_ followed by letters and digits');
      }
      let raw: unknown;
      try {
        raw = await stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge'] });
      } catch (error) {
        throw mapStripeError(error, 'stripe_payment_intent_not_found');
      }
      return toPaymentIntentState(raw);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Webhooks

export type WebhookRefusalCode =
  | 'stripe_webhook_not_configured'
  | 'stripe_signature_missing'
  | 'stripe_signature_invalid'
  | 'stripe_signature_expired'
  | 'stripe_signature_from_future'
  | 'stripe_event_invalid';

/** The envelope fields of a verified event; `object` is `data.object`, still raw. */
export interface StripeEventEnvelope {
  id: string;
  type: string;
  livemode: boolean;
  /** Seconds since the epoch, when Stripe created the event. */
  created: number;
  /** The connected account a Connect event is about (null for the platform's own events). */
  account: string | null;
  api_version: string | null;
  object: unknown;
}

export type WebhookVerification = { ok: true; event: StripeEventEnvelope } | { ok: false; code: WebhookRefusalCode; message: string };

/** The timestamp Stripe's library verifies: the last `t=` element of the header. */
function signedTimestamp(header: string): number | null {
  let t: number | null = null;
  for (const part of header.split(',')) {
    const [k, v] = part.split('=');
    if (k === 't') t = Number.parseInt(v ?? '', 10);
  }
  return t !== null && Number.isFinite(t) ? t : null;
}

/**
 * Verify a webhook delivery: the HMAC over the raw body with Stripe's library
 * (`Stripe.webhooks.constructEvent`), then the signed timestamp against our own clock in both
 * directions (the library checks only age; a timestamp far in the future is as suspect as an
 * old one). `rawBody` must be the exact bytes received — parsed-and-reserialised JSON fails.
 */
export function verifyStripeWebhook(
  rawBody: string | Uint8Array,
  signatureHeader: string | null | undefined,
  secret: string | undefined,
  options: { now: Date; toleranceSeconds?: number },
): WebhookVerification {
  if (!secret) return { ok: false, code: 'stripe_webhook_not_configured', message: 'No Stripe webhook secret is configured (STRIPE_WEBHOOK_SECRET)' };
  if (!signatureHeader) return { ok: false, code: 'stripe_signature_missing', message: 'The Stripe-Signature header is missing' };
  let raw: unknown;
  try {
    // Tolerance 0: signature only; the time window is checked below with our clock.
    raw = Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret, 0);
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
      return { ok: false, code: 'stripe_signature_invalid', message: 'The Stripe-Signature header does not verify for this body' };
    }
    return { ok: false, code: 'stripe_event_invalid', message: 'The webhook body is not a JSON event' };
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const t = signedTimestamp(signatureHeader);
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  if (t === null) return { ok: false, code: 'stripe_signature_invalid', message: 'The Stripe-Signature header has no timestamp' };
  if (nowSeconds - t > tolerance) return { ok: false, code: 'stripe_signature_expired', message: `The signature is older than ${tolerance} seconds` };
  if (t - nowSeconds > tolerance) return { ok: false, code: 'stripe_signature_from_future', message: `The signature is dated more than ${tolerance} seconds ahead` };
  const e = obj(raw);
  const id = str(e?.id);
  const type = str(e?.type);
  if (!e || !id || !id.startsWith('evt_') || !type || e.object !== 'event' || !obj(obj(e.data)?.object)) {
    return { ok: false, code: 'stripe_event_invalid', message: 'The webhook body is not a Stripe event' };
  }
  return {
    ok: true,
    event: {
      id,
      type,
      livemode: e.livemode === true,
      created: num(e.created),
      account: str(e.account),
      api_version: str(e.api_version),
      object: obj(e.data)!.object,
    },
  };
}
