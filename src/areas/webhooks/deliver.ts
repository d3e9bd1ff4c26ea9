import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { isWebhookError } from './errors.ts';
import type { AttemptOutcome } from './schedule.ts';
import { signaturesFor, unixSeconds } from './secrets.ts';
import { pinnedLookup, resolveTarget, type HostLookup, type ResolvedTarget, type UrlPolicy } from './ssrf.ts';

/**
 * One delivery attempt: POST the signed body, read a capped excerpt of the answer, classify it.
 *
 * Built on node:http/https rather than fetch (undici): the connection must use the address that
 * ssrf.ts checked, which node:http takes as a documented per-request `lookup` with no extra
 * dependency, while fetch would need undici's own Agent; and node:http never follows redirects, so
 * "3xx is a failure" needs no configuration. Delivery failures are results, never exceptions.
 */

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_EXCERPT_BYTES = 1024;
export const DEFAULT_USER_AGENT = 'Paybond-Webhooks/1.0 (+https://www.standardwebhooks.com)';

export type DeliveryErrorCode =
  | 'url_not_allowed'
  | 'address_not_allowed'
  | 'dns_failed'
  | 'timeout'
  | 'connection_refused'
  | 'connection_reset'
  | 'tls_error'
  | 'invalid_response'
  | 'network_error'
  | 'redirect_not_followed'
  | 'http_status'
  | 'aborted';

export interface DeliveryRequest {
  url: string;
  /** `webhook-id`: the event id, the same on every retry (receivers deduplicate on it). */
  webhookId: string;
  /** The exact JSON text to send and sign. */
  body: string;
  /** Plaintext `whsec_` secrets that sign, current first (see activeSecrets). */
  secrets: readonly string[];
  policy: UrlPolicy;
  /** `webhook-timestamp`: this attempt's time, not the event's (receivers reject stale timestamps). */
  timestamp?: Date;
  timeoutMs?: number;
  excerptBytes?: number;
  userAgent?: string;
  /** Tests: a resolver standing in for DNS. */
  lookup?: HostLookup;
  /** Tests: extra trust anchors for https receivers. */
  ca?: string | Buffer;
  /** Stops the attempt (worker shutdown); the result is `aborted`. */
  signal?: AbortSignal;
}

export interface DeliveryResult {
  outcome: AttemptOutcome;
  /** HTTP status of the answer; null when none arrived. */
  statusCode: number | null;
  /** Whole attempt, from name resolution to the end of the excerpt. */
  latencyMs: number;
  /** Null exactly when delivered. */
  error: DeliveryErrorCode | null;
  errorMessage: string | null;
  /** Start of the response body (UTF-8, at most `excerptBytes` bytes, U+0000 replaced); null when no answer arrived. */
  responseExcerpt: string | null;
  /** From a Retry-After answer header, for planNextAttempt. */
  retryAfterMs: number | null;
  /** The `webhook-timestamp` sent (Unix seconds). */
  timestamp: number;
}

const outcomeFor = (status: number): AttemptOutcome => (status >= 200 && status < 300 ? 'delivered' : status === 410 ? 'gone' : 'retry');

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function networkErrorCode(error: NodeJS.ErrnoException): DeliveryErrorCode {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return 'connection_reset';
  if (code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns_failed';
  if (code.startsWith('HPE_')) return 'invalid_response';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME/.test(code)) return 'tls_error';
  return 'network_error';
}

class Timeout extends Error {}

/** Throws (WebhookError) only for bad input: a malformed webhook id or secret. */
export async function deliverOnce(request: DeliveryRequest): Promise<DeliveryResult> {
  const started = performance.now();
  const timestampDate = request.timestamp ?? new Date();
  const timestamp = unixSeconds(timestampDate);
  const excerptBytes = request.excerptBytes ?? DEFAULT_EXCERPT_BYTES;
  const finish = (partial: Omit<DeliveryResult, 'latencyMs' | 'timestamp'>): DeliveryResult => ({
    ...partial,
    latencyMs: Math.round(performance.now() - started),
    timestamp,
  });
  const failure = (error: DeliveryErrorCode, errorMessage: string) =>
    finish({ outcome: 'retry', statusCode: null, error, errorMessage, responseExcerpt: null, retryAfterMs: null });

  const payload = Buffer.from(request.body, 'utf8');
  const headers = {
    'content-type': 'application/json',
    'content-length': String(payload.length),
    'user-agent': request.userAgent ?? DEFAULT_USER_AGENT,
    'webhook-id': request.webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signaturesFor(request.secrets, request.webhookId, timestampDate, request.body),
  };

  // One deadline for the whole attempt: resolution, connection, TLS, answer and excerpt.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Timeout()), request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([deadline.signal, request.signal]) : deadline.signal;
  const abortedResult = () =>
    deadline.signal.aborted ? failure('timeout', `No complete answer within ${request.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`) : failure('aborted', 'The attempt was stopped');
  try {
    let target: ResolvedTarget;
    try {
      target = await Promise.race([
        resolveTarget(request.url, { ...request.policy, lookup: request.lookup }),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      ]);
    } catch (error) {
      if (signal.aborted) return abortedResult();
      if (isWebhookError(error, 'address_not_allowed')) return failure('address_not_allowed', error.message);
      if (isWebhookError(error, 'dns_failed')) return failure('dns_failed', error.message);
      if (isWebhookError(error)) return failure('url_not_allowed', error.message);
      throw error;
    }
    const client = target.url.protocol === 'https:' ? https : http;
    return await new Promise<DeliveryResult>((resolve) => {
      let settled = false;
      let completeAnswer: (() => void) | null = null;
      const done = (result: DeliveryResult) => {
        if (settled) return;
        settled = true;
        req.destroy();
        resolve(result);
      };
      const req = client.request({
        protocol: target.url.protocol,
        hostname: target.hostname,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'POST',
        headers,
        // A fresh agent per attempt: no pooled socket outlives the address check it was made for.
        agent: false,
        lookup: pinnedLookup(target),
        signal,
        ...(request.ca ? { ca: request.ca } : {}),
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (completeAnswer) return completeAnswer();
        if (signal.aborted) return done(abortedResult());
        done(failure(networkErrorCode(error), error.message));
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const decoder = new StringDecoder('utf8');
        const chunks: Buffer[] = [];
        let size = 0;
        // Once the status is in, the receiver has answered: a stalled or broken body only shortens the excerpt.
        const complete = () => {
          const redirect = status >= 300 && status < 400;
          const outcome = outcomeFor(status);
          const location = typeof res.headers.location === 'string' ? res.headers.location.slice(0, 200) : null;
          done(
            finish({
              outcome,
              statusCode: status,
              error: outcome === 'delivered' ? null : redirect ? 'redirect_not_followed' : 'http_status',
              errorMessage:
                outcome === 'delivered' ? null : redirect ? `Redirects are not followed (HTTP ${status}${location ? ` to ${location}` : ''})` : `HTTP ${status}`,
              // PostgreSQL text cannot hold U+0000; the excerpt is stored as text.
              responseExcerpt: decoder.write(Buffer.concat(chunks, size)).replace(/\u0000/g, '\uFFFD'),
              retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            }),
          );
        };
        completeAnswer = complete;
        res.on('data', (chunk: Buffer) => {
          const room = excerptBytes - size;
          if (room > 0) {
            const part = chunk.subarray(0, room);
            chunks.push(part);
            size += part.length;
          }
          if (size >= excerptBytes) complete();
        });
        res.on('end', complete);
        res.on('error', complete);
        res.on('aborted', complete);
        res.on('close', complete);
      });
      req.end(payload);
    });
  } finally {
    clearTimeout(timer);
  }
}
