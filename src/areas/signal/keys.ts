import type { SigningKey } from '../../secrets.ts';
import { SIGNAL_SIGNING_ALGORITHM, type SignalSigningKey } from './model/artifacts.ts';

const seeds = new WeakMap<SigningKey, SignalSigningKey>();

/** The Signal signing key as the model signs with it: its raw 32-byte seed and published key id. */
export function signalKey(key: SigningKey): SignalSigningKey {
  let signing = seeds.get(key);
  if (!signing) {
    const jwk = key.privateKey.export({ format: 'jwk' });
    signing = { keyId: key.keyId, seed: new Uint8Array(Buffer.from(jwk.d!, 'base64url')) };
    seeds.set(key, signing);
  }
  return signing;
}

/** `GET /signal/v1/keys`: the keys Signal artifacts are signed with; pin them when verifying. */
export function signalKeyList(key: SigningKey) {
  return {
    schema_version: 1,
    signing_algorithm: SIGNAL_SIGNING_ALGORITHM,
    keys: [{ key_id: key.keyId, public_key_hex: key.publicKeyHex, algorithm: 'Ed25519', status: 'active' }],
  };
}
