import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhookError } from './errors.ts';

/**
 * Endpoint signing secrets in the Standard Webhooks format (`whsec_` + base64 of random bytes; the
 * specification asks for 24 to 64 bytes), their protection at rest, rotation with an overlap, and
 * the `webhook-signature` header.
 *
 * The gateway must sign with a secret long after it was shown, so a one-way hash cannot work: the
 * secret is stored encrypted (AES-256-GCM) under a key derived with HKDF-SHA256 (RFC 5869) from the
 * server secret. The endpoint id is bound in as additional authenticated data, so a sealed value
 * copied to another endpoint's row does not open there.
 */

export const SECRET_PREFIX = 'whsec_';
export const SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3600_000;
export const MAX_ROTATION_OVERLAP_MS = 7 * 24 * 3600_000;

const SEALED_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
// Fixed labels: changing them makes every stored secret unreadable.
const HKDF_SALT = Buffer.from('paybond/webhooks/secret-box', 'utf8');
const HKDF_INFO = Buffer.from('aes-256-gcm endpoint signing secret v1', 'utf8');
const aad = (endpointId: string) => Buffer.from(`paybond.webhook-endpoint.${endpointId}`, 'utf8');

/** A new endpoint secret: `whsec_` + base64 (standard alphabet, padded) of 32 random bytes. */
export const generateSecret = (): string => SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');

/** The key bytes of a `whsec_` secret; refuses anything the specification would not accept. */
export function parseSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : null;
  const key = encoded === null ? null : Buffer.from(encoded, 'base64');
  // Buffer's base64 decoder skips junk characters; a round trip proves the text was canonical.
  if (!key || key.toString('base64') !== encoded || key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new WebhookError('invalid_secret', `A signing secret is ${SECRET_PREFIX} followed by base64 of ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  }
  return key;
}

/** Last four characters, to tell secrets apart in lists (as API keys show a hint). */
export const secretHint = (secret: string): string => secret.slice(-4);

export interface SecretBox {
  /** Encrypt a `whsec_` secret for the row of `endpointId`: `v1.` + base64url(iv ‖ ciphertext ‖ tag). */
  seal(secret: string, endpointId: string): string;
  /** Decrypt a sealed secret of `endpointId`; `secret_unreadable` if it was altered, moved or sealed under another server secret. */
  open(sealed: string, endpointId: string): string;
}

export function createSecretBox(serverSecret: Uint8Array): SecretBox {
  if (serverSecret.length < 16) throw new WebhookError('server_secret_too_short', 'The server secret must be at least 16 bytes');
  const key = Buffer.from(hkdfSync('sha256', serverSecret, HKDF_SALT, HKDF_INFO, 32));
  return {
    seal(secret, endpointId) {
      parseSecret(secret);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(endpointId));
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${SEALED_VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    open(sealed, endpointId) {
      const [version, packed, extra] = sealed.split('.');
      const bytes = packed ? Buffer.from(packed, 'base64url') : Buffer.alloc(0);
      if (version !== SEALED_VERSION || extra !== undefined || bytes.length <= IV_BYTES + TAG_BYTES) {
        throw new WebhookError('secret_unreadable', 'The stored signing secret is not in a known format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(endpointId));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        throw new WebhookError('secret_unreadable', 'The stored signing secret does not decrypt for this endpoint under this server secret');
      }
    },
  };
}

/**
 * What an endpoint row stores: the sealed current secret and, during a rotation overlap, the sealed
 * previous one with the end of its overlap. Both sign until `previousExpiresAt`, so receivers can
 * switch secrets without missing a delivery.
 */
export interface StoredSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: Date | null;
}

/** A fresh secret for a new endpoint: store `stored`, show `secret` once. */
export function issueSecret(box: SecretBox, endpointId: string): { stored: StoredSecrets; secret: string } {
  const secret = generateSecret();
  return { stored: { current: box.seal(secret, endpointId), previous: null, previousExpiresAt: null }, secret };
}

/**
 * Replace the current secret; the old one keeps signing for `overlapMs` (0 = stops at once). A second
 * rotation during an overlap drops the oldest secret immediately: at most two secrets sign.
 */
export function rotateSecret(
  stored: StoredSecrets,
  box: SecretBox,
  endpointId: string,
  options: { now: Date; overlapMs?: number },
): { stored: StoredSecrets; secret: string } {
  const overlapMs = options.overlapMs ?? DEFAULT_ROTATION_OVERLAP_MS;
  if (!Number.isInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_ROTATION_OVERLAP_MS) {
    throw new WebhookError('invalid_overlap', `The overlap must be between 0 and ${MAX_ROTATION_OVERLAP_MS / 3600_000} hours`, { max_ms: MAX_ROTATION_OVERLAP_MS });
  }
  // Opening proves the row is intact before the only copy of the old secret moves.
  box.open(stored.current, endpointId);
  const secret = generateSecret();
  const current = box.seal(secret, endpointId);
  if (overlapMs === 0) return { stored: { current, previous: null, previousExpiresAt: null }, secret };
  return { stored: { current, previous: stored.current, previousExpiresAt: new Date(options.now.getTime() + overlapMs) }, secret };
}

/** The secrets that sign at `now`, current first. */
export function activeSecrets(stored: StoredSecrets, box: SecretBox, endpointId: string, now: Date): string[] {
  const secrets = [box.open(stored.current, endpointId)];
  if (stored.previous && stored.previousExpiresAt && now.getTime() < stored.previousExpiresAt.getTime()) {
    secrets.push(box.open(stored.previous, endpointId));
  }
  return secrets;
}

// The signed content is `{id}.{timestamp}.{body}`: an id with a full stop could shift that boundary.
const MESSAGE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/**
 * The `webhook-signature` header value: one `v1,<base64 HMAC-SHA256>` per secret, space-separated,
 * computed by the `standardwebhooks` reference library. `timestamp` is the attempt's time (sent as
 * `webhook-timestamp`, whole seconds); `body` must be the exact string sent.
 */
export function signaturesFor(secrets: readonly string[], id: string, timestamp: Date, body: string): string {
  if (!MESSAGE_ID.test(id)) throw new WebhookError('invalid_message_id', 'A webhook id is 1 to 128 characters of A-Z a-z 0-9 _ -');
  const unique = [...new Set(secrets)];
  if (unique.length === 0) throw new WebhookError('no_signing_secret', 'At least one signing secret is needed');
  return unique
    .map((secret) => {
      parseSecret(secret);
      return new Webhook(secret).sign(id, timestamp, body);
    })
    .join(' ');
}
