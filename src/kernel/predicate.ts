import { DomainError } from './errors.ts';

/**
 * Predicate DSL evaluated against submitted evidence: `{"version":1,"root":<node>}` where a node is
 * `{"op":"true"|"false"}`, `{"op":"and"|"or","args":[…]}`, `{"op":"not","arg":…}`,
 * `{"op":"exists","path":[…]}`, `{"op":"eq"|"ne"|"gt"|"gte"|"lt"|"lte","path":[…],"value":…}`,
 * `{"op":"in","path":[…],"values":[…]}` or `{"op":"lte_budget","path":[…]}` (≤ the intent amount).
 */
export interface PredicateContext {
  amountCents: number;
}

type Node = { op: string; args?: Node[]; arg?: Node; path?: Array<string | number>; value?: unknown; values?: unknown[] };

const MAX_DEPTH = 16;
const MAX_NODES = 256;

function lookup(data: unknown, path: Array<string | number>): { found: boolean; value: unknown } {
  let current: unknown = data;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, part)) return { found: false, value: undefined };
    current = (current as Record<string | number, unknown>)[part];
  }
  return { found: true, value: current };
}

const invalid = (message: string) => new DomainError('predicate_error', `predicate: ${message}`);

/** Check a predicate's shape (at create/publish time), so evaluation never meets a malformed tree. */
export function validatePredicate(predicate: unknown): void {
  let nodes = 0;
  const walk = (node: unknown, depth: number): void => {
    if (++nodes > MAX_NODES) throw invalid(`more than ${MAX_NODES} nodes`);
    if (depth > MAX_DEPTH) throw invalid(`deeper than ${MAX_DEPTH}`);
    if (!node || typeof node !== 'object' || Array.isArray(node)) throw invalid('every node must be an object with an op');
    const n = node as Node;
    const needsPath = () => {
      if (!Array.isArray(n.path) || n.path.length === 0 || n.path.some((p) => typeof p !== 'string' && typeof p !== 'number')) {
        throw invalid(`${n.op} needs a non-empty path`);
      }
    };
    switch (n.op) {
      case 'true':
      case 'false':
        return;
      case 'and':
      case 'or':
        if (!Array.isArray(n.args) || n.args.length === 0) throw invalid(`${n.op} needs args`);
        n.args.forEach((a) => walk(a, depth + 1));
        return;
      case 'not':
        walk(n.arg, depth + 1);
        return;
      case 'exists':
      case 'lte_budget':
        needsPath();
        return;
      case 'eq':
      case 'ne':
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        needsPath();
        if (!('value' in n)) throw invalid(`${n.op} needs a value`);
        return;
      case 'in':
        needsPath();
        if (!Array.isArray(n.values)) throw invalid('in needs values');
        return;
      default:
        throw invalid(`unknown op ${JSON.stringify(n.op)}`);
    }
  };
  if (!predicate || typeof predicate !== 'object' || (predicate as { version?: unknown }).version !== 1) throw invalid('version must be 1');
  walk((predicate as { root?: unknown }).root, 0);
}

const equal = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function evaluatePredicate(predicate: unknown, evidence: unknown, ctx: PredicateContext): boolean {
  validatePredicate(predicate);
  const evalNode = (n: Node): boolean => {
    switch (n.op) {
      case 'true':
        return true;
      case 'false':
        return false;
      case 'and':
        return n.args!.every(evalNode);
      case 'or':
        return n.args!.some(evalNode);
      case 'not':
        return !evalNode(n.arg!);
      case 'exists':
        return lookup(evidence, n.path!).found;
      case 'lte_budget': {
        const { value } = lookup(evidence, n.path!);
        return typeof value === 'number' && value <= ctx.amountCents;
      }
      case 'in':
        return n.values!.some((v) => equal(v, lookup(evidence, n.path!).value));
      default: {
        const { found, value } = lookup(evidence, n.path!);
        if (!found) return false;
        if (n.op === 'eq') return equal(value, n.value);
        if (n.op === 'ne') return !equal(value, n.value);
        if (typeof value !== 'number' || typeof n.value !== 'number') return false;
        return n.op === 'gt' ? value > n.value : n.op === 'gte' ? value >= n.value : n.op === 'lt' ? value < n.value : value <= n.value;
      }
    }
  };
  return evalNode((predicate as { root: Node }).root);
}

/**
 * The subset of JSON Schema evidence schemas use: `type`, `required`, `properties` (recursive),
 * `enum`. Unknown keywords are ignored (permissive), never an error.
 */
export function matchesSchema(schema: unknown, value: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 16) return true;
  const s = schema as { type?: string | string[]; required?: string[]; properties?: Record<string, unknown>; enum?: unknown[] };
  const types = s.type === undefined ? undefined : Array.isArray(s.type) ? s.type : [s.type];
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types && !types.some((t) => t === actual || (t === 'number' && actual === 'integer'))) return false;
  if (s.enum && !s.enum.some((e) => equal(e, value))) return false;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (s.required?.some((k) => !(k in obj))) return false;
    for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in obj && !matchesSchema(sub, obj[k], depth + 1)) return false;
  }
  return true;
}
