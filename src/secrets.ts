import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Config } from './config.ts';

/** Server key material. Generated once into DATA_DIR/secrets.json unless given in the environment. */
export interface ServerKeys {
  /** Ed25519 key that signs every JWT this gateway issues (EdDSA). */
  jwtPrivateKey: KeyObject;
  jwtPublicKey: KeyObject;
  /** `kid` of the JWT key (RFC 7638 thumbprint of its public JWK). */
  jwtKeyId: string;
  /** HMAC key for values that must be matched but not stored in the clear (codes, bucket keys). */
  hmacSecret: Buffer;
}

interface StoredSecrets {
  jwt_private_key_pem: string;
  server_secret: string;
}

function readOrCreate(file: string): StoredSecrets {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const fresh: StoredSecrets = {
    jwt_private_key_pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    server_secret: randomBytes(32).toString('base64url'),
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

export async function loadServerKeys(config: Pick<Config, 'JWT_PRIVATE_KEY' | 'SERVER_SECRET' | 'dataDir'>): Promise<ServerKeys> {
  const needFile = !config.JWT_PRIVATE_KEY || !config.SERVER_SECRET;
  const stored = needFile ? readOrCreate(path.join(config.dataDir, 'secrets.json')) : undefined;
  const jwtPrivateKey = createPrivateKey(config.JWT_PRIVATE_KEY ?? stored!.jwt_private_key_pem);
  if (jwtPrivateKey.asymmetricKeyType !== 'ed25519') throw new Error('JWT_PRIVATE_KEY must be an Ed25519 key');
  const jwtPublicKey = createPublicKey(jwtPrivateKey);
  const { calculateJwkThumbprint, exportJWK } = await import('jose');
  return {
    jwtPrivateKey,
    jwtPublicKey,
    jwtKeyId: await calculateJwkThumbprint(await exportJWK(jwtPublicKey)),
    hmacSecret: Buffer.from(config.SERVER_SECRET ?? stored!.server_secret, 'utf8'),
  };
}
