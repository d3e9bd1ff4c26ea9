/**
 * Detection of live provider material in a request body, for the sandbox routes that must never
 * see it (simulator events, sandbox guardrails): answering 422 keeps a live secret from being
 * stored in sandbox ledger/audit rows, and keeps a rehearsal from ever looking like live money.
 *
 * Scanned: every object key and every string value, at any depth. Found:
 * - Stripe live API keys (`sk_live_…`, `rk_live_…`, `pk_live_…`) anywhere inside a string;
 * - webhook signing secrets (`whsec_…`): they carry no test/live marker, and a sandbox body never
 *   needs a real one;
 * - live Paybond service-account keys (`paybond_sk_live_…`);
 * - live mode flags: `livemode` / `live_mode` / `is_live` (any case, `-` or `_`) set to true or
 *   "true", and `environment` / `env` / `mode` / `stripe_mode` / `livemode` set to "live";
 * - live account ids: a Connect id (`acct_…`) inside an object flagged live, or one of the
 *   account ids the caller knows to be live (its linked live destinations).
 * Findings never contain the secret itself, only which kind was found and where (a JSON pointer).
 * A body too large or deep to scan completely yields `scan_limit_exceeded`, so callers fail closed.
 */
export type LiveMaterialKind =
  | 'stripe_live_secret_key'
  | 'stripe_live_restricted_key'
  | 'stripe_live_publishable_key'
  | 'webhook_signing_secret'
  | 'paybond_live_api_key'
  | 'live_mode_flag'
  | 'live_account_id'
  | 'scan_limit_exceeded';

export interface LiveMaterialFinding {
  kind: LiveMaterialKind;
  /** RFC 6901 JSON pointer to the value (or to the object whose key matched). */
  path: string;
  where: 'key' | 'value';
  /** What was recognised, redacted to its public prefix (e.g. `sk_live_…`). */
  hint: string;
}

export interface LiveMaterialOptions {
  /** Connect account ids known to be live (e.g. the organisation's linked live destinations). */
  liveAccountIds?: ReadonlySet<string>;
  maxNodes?: number;
  maxDepth?: number;
}

// A token starts where no letter or digit precedes it, so `my_sk_live_…` and `"Bearer sk_live_…"` match.
const START = '(?<![A-Za-z0-9])';
const PATTERNS: Array<{ kind: LiveMaterialKind; re: RegExp; hint: string }> = [
  { kind: 'paybond_live_api_key', re: new RegExp(`${START}paybond_sk_live_[A-Za-z0-9]`), hint: 'paybond_sk_live_…' },
  // A Paybond live key contains `sk_live_` too; it is reported as the more specific kind only.
  { kind: 'stripe_live_secret_key', re: new RegExp(`${START}(?<!paybond_)sk_live_[A-Za-z0-9]`), hint: 'sk_live_…' },
  { kind: 'stripe_live_restricted_key', re: new RegExp(`${START}rk_live_[A-Za-z0-9]`), hint: 'rk_live_…' },
  { kind: 'stripe_live_publishable_key', re: new RegExp(`${START}pk_live_[A-Za-z0-9]`), hint: 'pk_live_…' },
  { kind: 'webhook_signing_secret', re: new RegExp(`${START}whsec_[A-Za-z0-9+/=]`), hint: 'whsec_…' },
];
const ACCOUNT_ID = new RegExp(`${START}acct_[A-Za-z0-9]+`, 'g');

const normaliseKey = (key: string) => key.toLowerCase().replace(/[-_]/g, '');
const FLAG_KEYS = new Set(['livemode', 'islive']);
const ENVIRONMENT_KEYS = new Set(['environment', 'env', 'mode', 'stripemode', 'paybondenvironment']);

function isLiveFlag(key: string, value: unknown): boolean {
  const k = normaliseKey(key);
  if (FLAG_KEYS.has(k) && (value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true'))) return true;
  return ENVIRONMENT_KEYS.has(k) && typeof value === 'string' && value.trim().toLowerCase() === 'live';
}

const pointer = (parent: string, key: string | number) => `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

export function findLiveMaterial(body: unknown, options: LiveMaterialOptions = {}): LiveMaterialFinding[] {
  const maxNodes = options.maxNodes ?? 100_000;
  const maxDepth = options.maxDepth ?? 64;
  const findings: LiveMaterialFinding[] = [];
  const add = (f: LiveMaterialFinding) => {
    if (!findings.some((x) => x.kind === f.kind && x.path === f.path && x.where === f.where)) findings.push(f);
  };

  const scanString = (text: string, path: string, where: 'key' | 'value', live: boolean) => {
    for (const p of PATTERNS) if (p.re.test(text)) add({ kind: p.kind, path, where, hint: p.hint });
    for (const match of text.matchAll(ACCOUNT_ID)) {
      if (live || options.liveAccountIds?.has(match[0])) add({ kind: 'live_account_id', path, where, hint: 'acct_…' });
    }
  };

  const stack: Array<{ value: unknown; path: string; depth: number; live: boolean }> = [{ value: body, path: '', depth: 0, live: false }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, path, depth, live } = stack.pop()!;
    if (++nodes > maxNodes || depth > maxDepth) {
      add({ kind: 'scan_limit_exceeded', path, where: 'value', hint: `more than ${maxNodes} values or ${maxDepth} levels` });
      break;
    }
    if (typeof value === 'string') {
      scanString(value, path, 'value', live);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: pointer(path, i), depth: depth + 1, live });
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      let flagged = live;
      for (const [key, child] of entries) {
        if (isLiveFlag(key, child)) {
          add({ kind: 'live_mode_flag', path: pointer(path, key), where: 'value', hint: `${key}: ${JSON.stringify(child)}` });
          flagged = true;
        }
      }
      for (const [key, child] of entries) {
        scanString(key, pointer(path, key), 'key', flagged);
        stack.push({ value: child, path: pointer(path, key), depth: depth + 1, live: flagged });
      }
    }
  }
  return findings;
}
