import { X509Certificate, createCipheriv, createDecipheriv, createHash, createPublicKey, hkdfSync, randomBytes } from 'node:crypto';
import { SsoError } from './errors.ts';

/**
 * Encryption at rest for SSO connection secrets (OIDC client secrets, SAML SP private keys).
 *
 * The key is derived with HKDF-SHA256 (RFC 5869) from the server secret and a purpose label, so
 * each use gets its own key and the server secret itself never encrypts anything. Ciphertexts are
 * AES-256-GCM with a random 96-bit IV and are bound to a caller-chosen context (the associated
 * data, e.g. `sso_connection:<id>:client_secret`), so a ciphertext copied into another row or
 * field does not decrypt.
 *
 * Format: `sb1.<kid>.<iv>.<ciphertext>.<tag>`, base64url parts; `kid` names the derived key
 * (a hash of it), so a server-secret rotation can keep older secrets readable.
 */
export interface SecretBox {
  seal(plaintext: string | Uint8Array, context: string): string;
  open(sealed: string, context: string): Buffer;
  openText(sealed: string, context: string): string;
  /** Whether `sealed` was made under the current key (false: re-seal it during rotation). */
  isCurrent(sealed: string): boolean;
}

const VERSION = 'sb1';
const SALT = Buffer.from('paybond-gateway/secret-box/v1');

interface DerivedKey {
  kid: string;
  key: Buffer;
}

function derive(secret: Uint8Array, purpose: string): DerivedKey {
  if (secret.length < 32) throw new TypeError('secret box: the server secret must have at least 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', secret, SALT, `paybond secret-box ${purpose}`, 32));
  const kid = createHash('sha256').update('kid').update(key).digest('base64url').slice(0, 8);
  return { kid, key };
}

export interface SecretBoxOptions {
  /** Current server secret. */
  secret: Uint8Array;
  /** Earlier server secrets still accepted by `open` (rotation). */
  previousSecrets?: Uint8Array[];
  /** Purpose label, e.g. `sso-connection-secrets`; different labels give unrelated keys. */
  purpose: string;
}

export function createSecretBox(options: SecretBoxOptions): SecretBox {
  if (!options.purpose) throw new TypeError('secret box: purpose is required');
  const current = derive(options.secret, options.purpose);
  const keys = new Map<string, Buffer>([[current.kid, current.key]]);
  for (const secret of options.previousSecrets ?? []) {
    const older = derive(secret, options.purpose);
    if (!keys.has(older.kid)) keys.set(older.kid, older.key);
  }

  const parse = (sealed: string) => {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SsoError('secret_box_invalid', 'format');
    const [, kid, iv, ciphertext, tag] = parts as [string, string, string, string, string];
    return { kid, iv: Buffer.from(iv, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url'), tag: Buffer.from(tag, 'base64url') };
  };

  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
      const b64 = (b: Buffer) => b.toString('base64url');
      return [VERSION, current.kid, b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join('.');
    },
    open(sealed, context) {
      const { kid, iv, ciphertext, tag } = parse(sealed);
      const key = keys.get(kid);
      if (!key) throw new SsoError('secret_box_invalid', 'unknown_key');
      if (iv.length !== 12 || tag.length !== 16) throw new SsoError('secret_box_invalid', 'format');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch (cause) {
        throw new SsoError('secret_box_invalid', 'authentication', { cause });
      }
    },
    openText(sealed, context) {
      return this.open(sealed, context).toString('utf8');
    },
    isCurrent(sealed) {
      return parse(sealed).kid === current.kid;
    },
  };
}

/**
 * What an admin may see of a secret: its length class and last four characters, and only when the
 * secret is long enough (≥ 16) that four characters leave at least 12 unknown.
 */
export function secretHint(secret: string): string {
  return secret.length >= 16 ? `••••${secret.slice(-4)}` : '••••';
}

/** SHA-256 of the DER certificate, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256` prints it). */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

export interface CertificateSummary {
  fingerprintSha256: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
}

export function describeCertificate(pem: string): CertificateSummary {
  const cert = new X509Certificate(pem);
  return {
    fingerprintSha256: cert.fingerprint256,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

/** SHA-256 (hex) of the public key's SPKI DER: identifies a private key without revealing it. */
export function keyFingerprint(privateOrPublicKeyPem: string): string {
  const spki = createPublicKey(privateOrPublicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}
