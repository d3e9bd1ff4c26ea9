import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.ts';
import { sha256Hex } from '../crypto/hash.ts';
import { DomainError } from './errors.ts';
import { validatePredicate } from './predicate.ts';

const path = z.array(z.union([z.string().min(1), z.number().int().min(0)])).min(1).max(16);

export interface Template {
  title: string;
  description: string;
  parameters: z.ZodType;
  materialize(params: Record<string, unknown>): unknown;
}

const eq = (p: unknown, value: unknown) => ({ op: 'eq', path: p, value });

/** The managed-policy catalogue: parameterised predicates a tenant can version and publish. */
export const TEMPLATES: Record<string, Template> = {
  true_v1: {
    title: 'Always release',
    description: 'Evidence is recorded; settlement always releases (sandbox and trusted vendors).',
    parameters: z.object({}).strict(),
    materialize: () => ({ version: 1, root: { op: 'true' } }),
  },
  api_response_v1: {
    title: 'API response OK',
    description: 'Release when the evidence reports the expected HTTP status.',
    parameters: z.object({ http_status_path: path, expected_http_status: z.number().int().min(100).max(599) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.http_status_path, p.expected_http_status) }),
  },
  webhook_confirmation_v1: {
    title: 'Webhook confirmed',
    description: 'Release when the evidence carries the expected webhook event type.',
    parameters: z.object({ event_type_path: path, expected_event_type: z.string().min(1).max(200) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.event_type_path, p.expected_event_type) }),
  },
  artifact_hash_v1: {
    title: 'Artifact attested',
    description: 'Release when the evidence reports the expected attested operation.',
    parameters: z.object({ operation_path: path, expected_operation: z.string().min(1).max(200) }).strict(),
    materialize: (p) => ({ version: 1, root: eq(p.operation_path, p.expected_operation) }),
  },
  completion_budget_v1: {
    title: 'Completed within budget',
    description: 'Release when the status is the expected one and the reported cost is within the intent amount.',
    parameters: z.object({ status_path: path, expected_status: z.string().min(1).max(200), cost_path: path }).strict(),
    materialize: (p) => ({ version: 1, root: { op: 'and', args: [eq(p.status_path, p.expected_status), { op: 'lte_budget', path: p.cost_path }] } }),
  },
  raw_predicate_v1: {
    title: 'Raw predicate',
    description: 'A hand-written predicate. Guardrails can forbid raw predicates.',
    parameters: z.object({ predicate: z.record(z.string(), z.unknown()) }).strict(),
    materialize: (p) => p.predicate,
  },
};

export const RAW_TEMPLATE = 'raw_predicate_v1';

export const templateId = z
  .string()
  .refine((t) => t in TEMPLATES, { message: `must be one of ${Object.keys(TEMPLATES).join(', ')}` })
  .describe('Policy template id (see policyTemplates).');

/** Parameters → predicate for a template, validated. */
export function materialize(template: string, parameters: unknown): { predicate: unknown; parameters: Record<string, unknown> } {
  const t = TEMPLATES[template];
  if (!t) throw new DomainError('invalid_request', `Unknown template ${template}`, { field: ['templateId'] });
  const checked = t.parameters.safeParse(parameters ?? {});
  if (!checked.success) {
    throw new DomainError('invalid_request', `parameters: ${checked.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`, {
      field: ['parameters'],
    });
  }
  const params = checked.data as Record<string, unknown>;
  const predicate = t.materialize(params);
  validatePredicate(predicate);
  return { predicate, parameters: params };
}

/** The content digest a v7 intent signature binds to. */
export const policyDigest = (template: string, parameters: unknown, predicate: unknown) =>
  sha256Hex(canonicalJson({ template_id: template, parameters, predicate }));
