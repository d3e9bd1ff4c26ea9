import { hmacHex } from '../../crypto/hash.ts';

/**
 * The one redaction function for everything persisted in audit rows, abuse buckets and exports.
 * Sensitive keys are replaced by a keyed hash (so equal values stay correlatable), and sensitive
 * patterns inside any string are masked.
 */
const SENSITIVE_KEY = /(password|secret|token|authorization|signature|api[_-]?key|cookie|email|(^|_)ip($|_)|ip_?address|remote_?addr|body|did|proof|pubkey|public_key|private)/i;

const PATTERNS: Array<[RegExp, string]> = [
  [/\bpaybond_(sk|pat)_[A-Za-z0-9_]+/g, '[redacted:credential]'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, '[redacted:bearer]'],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted:jwt]'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[redacted:email]'],
  [/\bdid:[a-z0-9]+:[A-Za-z0-9._:%-]+/g, '[redacted:did]'],
  [/\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g, '[redacted:ip]'],
  [/(?<![A-Za-z0-9:])(?:[A-Fa-f0-9]{1,4}:){2,7}[A-Fa-f0-9]{0,4}(?![A-Za-z0-9:])/g, '[redacted:ip]'],
];

export function redactString(value: string): string {
  let out = value;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Keyed, truncated hash for a value that must be matchable but never stored raw. */
export const bucketHash = (key: Uint8Array, value: string): string => `h:${hmacHex(key, value).slice(0, 24)}`;

export function redact(value: unknown, key: Uint8Array, depth = 0): unknown {
  if (depth > 8) return '[redacted:depth]';
  if (typeof value === 'string') return redactString(value);
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, key, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (SENSITIVE_KEY.test(k) && !k.endsWith('_sha256') && !k.endsWith('Sha256')) {
        out[k] = v == null ? v : bucketHash(key, typeof v === 'string' ? v : JSON.stringify(v));
      } else out[k] = redact(v, key, depth + 1);
    }
    return out;
  }
  return value;
}
