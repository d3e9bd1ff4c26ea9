import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  activeSecrets,
  createSecretBox,
  DEFAULT_ROTATION_OVERLAP_MS,
  generateSecret,
  issueSecret,
  MAX_ROTATION_OVERLAP_MS,
  parseSecret,
  rotateSecret,
  secretHint,
  signaturesFor,
} from '../../src/areas/webhooks/secrets.ts';

const serverSecret = randomBytes(32);
const box = createSecretBox(serverSecret);

describe('secret format', () => {
  it('is whsec_ + canonical base64 of 32 random bytes', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(parseSecret(a)).toHaveLength(32);
    expect(secretHint(a)).toBe(a.slice(-4));
  });

  it.each([
    ['no prefix', randomBytes(32).toString('base64')],
    ['too short (16 bytes)', `whsec_${randomBytes(16).toString('base64')}`],
    ['too long (65 bytes)', `whsec_${randomBytes(65).toString('base64')}`],
    ['not base64', 'whsec_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!'],
    ['base64url alphabet', `whsec_${randomBytes(32).toString('base64url')}-_`],
    ['empty', 'whsec_'],
  ])('refuses %s', (_, secret) => {
    expect(() => parseSecret(secret)).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
  });
});

describe('secret box (at rest)', () => {
  it('round-trips, with a fresh nonce each time and no trace of the secret in the stored text', () => {
    const secret = generateSecret();
    const one = box.seal(secret, 'whe_1');
    const two = box.seal(secret, 'whe_1');
    expect(one).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(one).not.toBe(two);
    expect(one).not.toContain(secret.slice(6, 20));
    expect(box.open(one, 'whe_1')).toBe(secret);
    expect(box.open(two, 'whe_1')).toBe(secret);
  });

  it('a sealed secret opens only for its own endpoint and under the same server secret', () => {
    const sealed = box.seal(generateSecret(), 'whe_1');
    expect(() => box.open(sealed, 'whe_2')).toThrow(expect.objectContaining({ code: 'secret_unreadable' }));
    expect(() => createSecretBox(randomBytes(32)).open(sealed, 'whe_1')).toThrow(expect.objectContaining({ code: 'secret_unreadable' }));
    // Same server secret bytes, new box: the derived key is the same.
    expect(createSecretBox(Buffer.from(serverSecret)).open(sealed, 'whe_1')).toMatch(/^whsec_/);
  });

  it('any altered byte is detected', () => {
    const sealed = box.seal(generateSecret(), 'whe_1');
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    for (const index of [0, 12, 20, bytes.length - 1]) {
      const altered = Buffer.from(bytes);
      altered[index] = altered[index]! ^ 1;
      expect(() => box.open(`v1.${altered.toString('base64url')}`, 'whe_1')).toThrow(expect.objectContaining({ code: 'secret_unreadable' }));
    }
    for (const bad of ['', 'v1.', 'v2.' + sealed.slice(3), `${sealed}.x`, generateSecret()]) {
      expect(() => box.open(bad, 'whe_1')).toThrow(expect.objectContaining({ code: 'secret_unreadable' }));
    }
  });

  it('refuses a short server secret and anything but a whsec_ secret', () => {
    expect(() => createSecretBox(randomBytes(8))).toThrow(expect.objectContaining({ code: 'server_secret_too_short' }));
    expect(() => box.seal('hunter2', 'whe_1')).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
  });
});

describe('rotation', () => {
  const now = new Date('2026-01-15T10:00:00Z');
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('a new endpoint signs with one secret', () => {
    const { stored, secret } = issueSecret(box, 'whe_r');
    expect(stored).toMatchObject({ previous: null, previousExpiresAt: null });
    expect(activeSecrets(stored, box, 'whe_r', now)).toEqual([secret]);
  });

  it('the previous secret keeps signing until the overlap ends (default 24 h)', () => {
    const first = issueSecret(box, 'whe_r');
    const second = rotateSecret(first.stored, box, 'whe_r', { now });
    expect(second.stored.previous).toBe(first.stored.current);
    expect(second.stored.previousExpiresAt).toEqual(at(DEFAULT_ROTATION_OVERLAP_MS));
    expect(activeSecrets(second.stored, box, 'whe_r', at(DEFAULT_ROTATION_OVERLAP_MS - 1))).toEqual([second.secret, first.secret]);
    expect(activeSecrets(second.stored, box, 'whe_r', at(DEFAULT_ROTATION_OVERLAP_MS))).toEqual([second.secret]);
  });

  it('overlap 0 retires the old secret at once; a second rotation drops the oldest', () => {
    const first = issueSecret(box, 'whe_r');
    const immediate = rotateSecret(first.stored, box, 'whe_r', { now, overlapMs: 0 });
    expect(activeSecrets(immediate.stored, box, 'whe_r', now)).toEqual([immediate.secret]);

    const second = rotateSecret(first.stored, box, 'whe_r', { now, overlapMs: 3600_000 });
    const third = rotateSecret(second.stored, box, 'whe_r', { now: at(60_000), overlapMs: 3600_000 });
    expect(activeSecrets(third.stored, box, 'whe_r', at(120_000))).toEqual([third.secret, second.secret]);
  });

  it('refuses an overlap outside 0..7 days, and a row that does not open', () => {
    const { stored } = issueSecret(box, 'whe_r');
    for (const overlapMs of [-1, MAX_ROTATION_OVERLAP_MS + 1, 1.5]) {
      expect(() => rotateSecret(stored, box, 'whe_r', { now, overlapMs })).toThrow(expect.objectContaining({ code: 'invalid_overlap' }));
    }
    expect(() => rotateSecret(stored, box, 'whe_other', { now })).toThrow(expect.objectContaining({ code: 'secret_unreadable' }));
  });
});

describe('signaturesFor', () => {
  const body = JSON.stringify({ type: 'webhook.test', data: { message: 'héllo ✓' } });
  const id = 'evt_2Nq7Vx4Lm9Tb3Rc8';

  it('matches HMAC-SHA256 over {id}.{timestamp}.{body} with the base64-decoded key (the specification, computed independently)', () => {
    const secret = generateSecret();
    const timestamp = new Date('2026-01-15T10:00:00.999Z');
    const expected = createHmac('sha256', parseSecret(secret)).update(`${id}.${Math.floor(timestamp.getTime() / 1000)}.${body}`).digest('base64');
    expect(signaturesFor([secret], id, timestamp, body)).toBe(`v1,${expected}`);
  });

  it('one space-separated signature per distinct secret, each verifying with the standardwebhooks library', () => {
    const secrets = [generateSecret(), generateSecret()];
    const timestamp = new Date();
    const header = signaturesFor([...secrets, secrets[0]!], id, timestamp, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': header };
    for (const secret of secrets) expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
  });

  it('refuses ids that could move the signed boundary, and an empty secret list', () => {
    for (const bad of ['evt.1', '', 'a b', 'x'.repeat(129)]) {
      expect(() => signaturesFor([generateSecret()], bad, new Date(), body)).toThrow(expect.objectContaining({ code: 'invalid_message_id' }));
    }
    expect(() => signaturesFor([], id, new Date(), body)).toThrow(expect.objectContaining({ code: 'no_signing_secret' }));
  });
});
