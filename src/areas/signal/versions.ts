import { DomainError } from '../../kernel/errors.ts';
import { SIGNAL_V1_PARAMS, validateModelParams, type SignalModelParams } from './model/params.ts';

/**
 * Score model versions the gateway computes. Every listed version is scored on every ledger
 * event (so a shadow version accumulates history next to the primary one); parameters never
 * change under a version: a new parameter set is a new version.
 */
export const PRIMARY_SCORE_VERSION = SIGNAL_V1_PARAMS.score_version;
export const SCORE_VERSIONS: ReadonlyMap<string, { params: SignalModelParams; status: 'primary' | 'shadow' }> = new Map([
  [PRIMARY_SCORE_VERSION, { params: validateModelParams(SIGNAL_V1_PARAMS), status: 'primary' as const }],
]);

/** `?score_version=`: default "1.0"; an unknown version is a 400 rather than an empty answer. */
export function scoreVersionOf(value: string | null | undefined): { version: string; params: SignalModelParams } {
  const version = value?.trim() || PRIMARY_SCORE_VERSION;
  const entry = SCORE_VERSIONS.get(version);
  if (!entry) throw new DomainError('invalid_request', `unknown score_version ${JSON.stringify(version.slice(0, 32))}; known: ${[...SCORE_VERSIONS.keys()].join(', ')}`, { field: ['scoreVersion'] });
  return { version, params: entry.params };
}

/**
 * W3C DID syntax (DID Core §3.1: `did:` method-name `:` method-specific-id, idchar = ALPHA /
 * DIGIT / "." / "-" / "_" / pct-encoded). Scored operators are payee DIDs of this form, and only
 * such DIDs can be signed into receipts (no control characters).
 */
const DID = /^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*(?::(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*)*(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})$/;
export const isOperatorDid = (value: string): boolean => value.length <= 512 && DID.test(value);

/** An operator DID from a request (already percent-decoded once by the router), or a 400. */
export function operatorDidOf(value: string): string {
  if (!isOperatorDid(value)) throw new DomainError('invalid_request', 'operator_did must be a DID (did:<method>:<id>, at most 512 characters)', { field: ['operatorDid'] });
  return value;
}
