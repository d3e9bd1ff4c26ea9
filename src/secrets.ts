import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Config } from './config.ts';

/** An Ed25519 key that signs artifacts others verify offline (its public half is published). */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Raw 32-byte public key, hex. */
  publicKeyHex: string;
  /** RFC 7638 thumbprint of its public JWK (`kid`). */
  keyId: string;
}

/** Server key material. Generated once into DATA_DIR/secrets.json unless given in the environment. */
export interface ServerKeys {
  /** Ed25519 key that signs every JWT this gateway issues (EdDSA). */
  jwtPrivateKey: KeyObject;
  jwtPublicKey: KeyObject;
  /** `kid` of the JWT key (RFC 7638 thumbprint of its public JWK). */
  jwtKeyId: string;
  /** HMAC key for values that must be matched but not stored in the clear (codes, bucket keys). */
  hmacSecret: Buffer;
  /**
   * Signs what the gateway vouches for: protocol receipts, the agent card, export manifests and
   * ledger checkpoints. Separate from the JWT key, so rotating one never touches the other.
   */
  signing: SigningKey;
  /** Signs Signal reputation artifacts (kept apart so a Signal key can be pinned on its own). */
  signalSigning: SigningKey;
}

interface StoredSecrets {
  jwt_private_key_pem: string;
  server_secret: string;
  signing_private_key_pem?: string;
  signal_signing_private_key_pem?: string;
}

const newEd25519Pem = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

function readOrCreate(file: string): StoredSecrets {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const fresh: StoredSecrets = {
    jwt_private_key_pem: newEd25519Pem(),
    server_secret: randomBytes(32).toString('base64url'),
    signing_private_key_pem: newEd25519Pem(),
    signal_signing_private_key_pem: newEd25519Pem(),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // 'wx' so two processes starting on one data dir cannot each write their own keys.
  try {
    fs.writeFileSync(file, JSON.stringify(fresh, null, 2), { mode: 0o600, flag: 'wx' });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
    throw error;
  }
}

/** A secrets file written before a key existed gains it once (same mode, written whole). */
function withKeys(file: string, stored: StoredSecrets): StoredSecrets {
  if (stored.signing_private_key_pem && stored.signal_signing_private_key_pem) return stored;
  const upgraded = { ...stored, signing_private_key_pem: stored.signing_private_key_pem ?? newEd25519Pem(), signal_signing_private_key_pem: stored.signal_signing_private_key_pem ?? newEd25519Pem() };
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(upgraded, null, 2), { mode: 0o600 });
  fs.renameSync(temp, file);
  return upgraded;
}

async function signingKey(pem: string, name: string): Promise<SigningKey> {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${name} must be an Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  const { calculateJwkThumbprint, exportJWK } = await import('jose');
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicKey, publicKeyHex: Buffer.from(jwk.x!, 'base64url').toString('hex'), keyId: await calculateJwkThumbprint(jwk) };
}

type KeyConfig = Pick<Config, 'JWT_PRIVATE_KEY' | 'SERVER_SECRET' | 'GATEWAY_SIGNING_KEY' | 'SIGNAL_SIGNING_KEY' | 'dataDir'>;

export async function loadServerKeys(config: KeyConfig): Promise<ServerKeys> {
  const needFile = !config.JWT_PRIVATE_KEY || !config.SERVER_SECRET || !config.GATEWAY_SIGNING_KEY || !config.SIGNAL_SIGNING_KEY;
  const file = path.join(config.dataDir, 'secrets.json');
  const stored = needFile ? withKeys(file, readOrCreate(file)) : undefined;
  const jwtPrivateKey = createPrivateKey(config.JWT_PRIVATE_KEY ?? stored!.jwt_private_key_pem);
  if (jwtPrivateKey.asymmetricKeyType !== 'ed25519') throw new Error('JWT_PRIVATE_KEY must be an Ed25519 key');
  const jwtPublicKey = createPublicKey(jwtPrivateKey);
  const { calculateJwkThumbprint, exportJWK } = await import('jose');
  return {
    jwtPrivateKey,
    jwtPublicKey,
    jwtKeyId: await calculateJwkThumbprint(await exportJWK(jwtPublicKey)),
    hmacSecret: Buffer.from(config.SERVER_SECRET ?? stored!.server_secret, 'utf8'),
    signing: await signingKey(config.GATEWAY_SIGNING_KEY ?? stored!.signing_private_key_pem!, 'GATEWAY_SIGNING_KEY'),
    signalSigning: await signingKey(config.SIGNAL_SIGNING_KEY ?? stored!.signal_signing_private_key_pem!, 'SIGNAL_SIGNING_KEY'),
  };
}
