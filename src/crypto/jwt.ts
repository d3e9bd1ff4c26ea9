import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import type { ServerKeys } from '../secrets.ts';
import { DomainError } from '../errors.ts';
import { unixSeconds } from '../clock.ts';

/** Each kind of token has its own `typ` header, so one can never be replayed as another. */
export const tokenTypes = {
  session: 'paybond-session+jwt',
  harbor: 'paybond-harbor+jwt',
  agent: 'paybond-agent+jwt',
  capability: 'paybond-capability+jwt',
  download: 'paybond-download+jwt',
} as const;
export type TokenKind = keyof typeof tokenTypes;

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
    .setProtectedHeader({ alg: 'EdDSA', typ: tokenTypes[kind], kid: keys.jwtKeyId })
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
      typ: tokenTypes[kind],
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
    return (Object.keys(tokenTypes) as TokenKind[]).find((k) => tokenTypes[k] === header.typ);
  } catch {
    return undefined;
  }
}
