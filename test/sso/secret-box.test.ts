import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSsoError } from '../../src/areas/sso/errors.ts';
import { certificateFingerprint, createSecretBox, describeCertificate, keyFingerprint, secretHint } from '../../src/areas/sso/secret-box.ts';
import { generateIdpKeyPair } from '../helpers/idp/saml-idp.ts';

const secret = randomBytes(32);
const box = createSecretBox({ secret, purpose: 'sso-connection-secrets' });
const context = 'sso_connection:conn_1:client_secret';

const expectCode = (fn: () => unknown, detail: string) => {
  try {
    fn();
  } catch (error) {
    expect(isSsoError(error, 'secret_box_invalid')).toBe(true);
    expect((error as { detail?: string }).detail).toBe(detail);
    return;
  }
  throw new Error('expected secret_box_invalid');
};

describe('secret box', () => {
  it('round-trips text and bytes, with a fresh IV each time', () => {
    const a = box.seal('client-secret-value', context);
    const b = box.seal('client-secret-value', context);
    expect(a).not.toBe(b);
    expect(a.startsWith('sb1.')).toBe(true);
    expect(a).not.toContain('client-secret-value');
    expect(box.openText(a, context)).toBe('client-secret-value');
    const bytes = randomBytes(100);
    expect(box.open(box.seal(bytes, context), context).equals(bytes)).toBe(true);
  });

  it('refuses another context (a ciphertext moved to another row or field)', () => {
    const sealed = box.seal('s3cret', context);
    expectCode(() => box.open(sealed, 'sso_connection:conn_2:client_secret'), 'authentication');
  });

  it('refuses any tampered part', () => {
    const sealed = box.seal('s3cret', context);
    const parts = sealed.split('.');
    for (const index of [2, 3, 4]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      bytes[0]! ^= 1;
      const forged = parts.map((p, i) => (i === index ? bytes.toString('base64url') : p)).join('.');
      expect(() => box.open(forged, context)).toThrow();
    }
    expectCode(() => box.open('not-a-box', context), 'format');
  });

  it('derives unrelated keys per purpose and per server secret', () => {
    const sealed = box.seal('s3cret', context);
    const otherPurpose = createSecretBox({ secret, purpose: 'something-else' });
    expectCode(() => otherPurpose.open(sealed, context), 'unknown_key');
    const otherSecret = createSecretBox({ secret: randomBytes(32), purpose: 'sso-connection-secrets' });
    expectCode(() => otherSecret.open(sealed, context), 'unknown_key');
  });

  it('opens values sealed under a previous server secret during rotation', () => {
    const sealed = box.seal('s3cret', context);
    const rotated = createSecretBox({ secret: randomBytes(32), previousSecrets: [secret], purpose: 'sso-connection-secrets' });
    expect(rotated.openText(sealed, context)).toBe('s3cret');
    expect(rotated.isCurrent(sealed)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('s3cret', context))).toBe(true);
  });

  it('refuses a short server secret', () => {
    expect(() => createSecretBox({ secret: randomBytes(16), purpose: 'x' })).toThrow(/32 bytes/);
  });
});

describe('hints and fingerprints', () => {
  it('shows at most the last four characters of a long secret', () => {
    expect(secretHint('abcdefghijklmnopWXYZ')).toBe('••••WXYZ');
    expect(secretHint('short-secret')).toBe('••••');
  });

  it('fingerprints certificates and keys', async () => {
    const { cert, privateKey } = await generateIdpKeyPair('fingerprint-test');
    expect(certificateFingerprint(cert)).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const summary = describeCertificate(cert);
    expect(summary.subject).toContain('CN=fingerprint-test');
    expect(summary.notAfter.getTime()).toBeGreaterThan(Date.now());
    // The private key and its certificate share the public key, hence the fingerprint.
    expect(keyFingerprint(privateKey)).toBe(keyFingerprint(cert));
    expect(keyFingerprint(privateKey)).toMatch(/^[0-9a-f]{64}$/);
  });
});
