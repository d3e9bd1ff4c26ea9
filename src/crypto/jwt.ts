import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import type { ServerKeys } from '../secrets.ts';
import { DomainError } from '../kernel/errors.ts';
import { unixSeconds } from '../clock.ts';

/**
 * Each kind of token (session, harbor, agent, capability, …) has its own `typ` header,
 * `paybond-<kind>+jwt`, so one can never be replayed as another. An area that mints a new kind
 * just names it.
 */
export type TokenKind = string;
const typOf = (kind: TokenKind) => `paybond-${kind}+jwt`;
const TYP = /^paybond-([a-z][a-z_-]{0,31})\+jwt$/;

const ISSUER = 'paybond-gateway';

export interface IssuedToken {
  token: string;
  jti: string;
  expiresAt: Date;
}

export async function signToken(
  keys: ServerKeys,
  kind: TokenKind,
  claims: JWTPayload & { sub: string },
  now: Date,
  ttlSeconds: number,
): Promise<IssuedToken> {
  const jti = claims.jti ?? randomUUID();
  const iat = unixSeconds(now);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ ...claims, jti })
    .setProtectedHeader({ alg: 'EdDSA', typ: typOf(kind), kid: keys.jwtKeyId })
    .setIssuer(ISSUER)
    .setAudience(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keys.jwtPrivateKey);
  return { token, jti, expiresAt: new Date(exp * 1000) };
}

/**
 * Verify one of our tokens. Only EdDSA with our key is accepted, so `alg: none` and
 * HS256-with-the-public-key confusion fail here.
 */
export async function verifyToken<T extends object>(keys: ServerKeys, kind: TokenKind, token: string, now: Date): Promise<T & { sub: string; jti: string; exp: number }> {
  try {
    const { payload } = await jwtVerify(token, keys.jwtPublicKey, {
      algorithms: ['EdDSA'],
      issuer: ISSUER,
      audience: ISSUER,
      typ: typOf(kind),
      currentDate: now,
      requiredClaims: ['sub', 'jti', 'exp', 'iat'],
    });
    return payload as T & { sub: string; jti: string; exp: number };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new DomainError('token_expired', 'The access token has expired');
    throw new DomainError('invalid_credentials', 'The access token is not valid');
  }
}

/** Which kind a compact JWT claims to be, without trusting it (routing only). */
export function peekTokenKind(token: string): TokenKind | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as { typ?: unknown };
    return typeof header.typ === 'string' ? TYP.exec(header.typ)?.[1] : undefined;
  } catch {
    return undefined;
  }
}
