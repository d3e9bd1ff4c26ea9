import { z } from 'zod';
import type { Principal, Runtime } from '../../context.ts';
import { TEMPLATES } from '../../kernel/policy-templates.ts';
import { PRESETS } from '../sandbox/presets.ts';

/**
 * `POST /v1/policy/validate`: check a `paybond.policy.yaml` document (as JSON) the way the Paybond
 * Kit SDK's `harbor.validatePolicy` expects — its local schema (versions 1 and 2, facts from the
 * SDK's public `src/policy/schema.ts`) and the tenant's registry (known completion presets and
 * vendor packs, known policy templates, a published head for a bound version). The answer is
 * always 200 with `valid`, `errors[]`, `warnings[]` and `checks[]`; the request is never stored.
 */

export const policyValidateQuery = z.object({
  strict: z.enum(['0', '1', 'true', 'false']).optional().describe('1: side-effecting tools must be listed in intent.allowed_tools when that list is set.'),
  resolve_inheritance: z.enum(['0', '1', 'true', 'false']).optional().describe('1: the document is a v2 overlay; inheritance is resolved server-side (not supported: reported as a warning).'),
});

const IDENTIFIER = /^[a-z0-9_]{1,64}$/;
const POLICY_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const TOOL_NAME = /^[a-z][a-z0-9_.-]{0,127}$/;
const JSON_PATH = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;
const HEAD_DIGEST = /^sha256:[0-9a-fA-F]{64}$/;
const CURRENCY = /^[a-z]{3}$/;

const toolEntry = z
  .object({
    side_effecting: z.boolean(),
    max_spend_cents: z.number().int().nonnegative().optional(),
    spend_from_args: z.string().regex(JSON_PATH, 'must be a dot-separated JSON path').optional(),
    evidence_preset: z.string().regex(IDENTIFIER, 'must be snake_case identifier (1-64 chars)').optional(),
    vendor_pack: z.string().regex(IDENTIFIER, 'must be snake_case identifier (1-64 chars)').optional(),
    operation: z.string().min(1).max(128).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.side_effecting && !e.evidence_preset) ctx.addIssue({ code: 'custom', path: ['evidence_preset'], message: 'side-effecting tools must declare evidence_preset' });
    if (e.max_spend_cents !== undefined && e.spend_from_args !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['spend_from_args'], message: 'max_spend_cents and spend_from_args are mutually exclusive' });
    }
  });

const intentSection = z
  .object({
    policy_binding: z
      .object({
        template_id: z.string().regex(IDENTIFIER),
        version_seq: z.number().int().positive().optional(),
        head_digest: z.string().regex(HEAD_DIGEST, 'must be sha256:<64-hex>').optional(),
      })
      .strict()
      .optional(),
    budget: z.object({ currency: z.string().regex(CURRENCY, 'must be a lowercase ISO-4217 code'), max_spend_usd: z.number().nonnegative().optional() }).strict().optional(),
    allowed_tools: z.array(z.string().regex(TOOL_NAME)).optional(),
  })
  .strict();

const documentSchema = z
  .object({
    version: z.union([z.literal(1), z.literal(2)]),
    name: z.string().regex(POLICY_NAME, 'must be a lowercase policy name'),
    default_deny: z.boolean(),
    tools: z.record(z.string().regex(TOOL_NAME, 'must be a lowercase tool name (dots allowed)'), toolEntry),
    intent: intentSection.optional(),
    adapter: z.record(z.string(), z.unknown()).optional(),
    extends: z.record(z.string(), z.unknown()).optional(),
    overrides: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.version === 1 && (d.extends || d.overrides)) ctx.addIssue({ code: 'custom', path: ['extends'], message: 'extends and overrides need version 2' });
    if (Object.keys(d.tools).length === 0 && !d.extends) ctx.addIssue({ code: 'custom', path: ['tools'], message: 'tools must declare at least one entry' });
  });

export interface PolicyIssue {
  path: string;
  code: string;
  message: string;
}

export interface PolicyValidation {
  valid: boolean;
  localValid: boolean;
  remoteValid: boolean;
  policyName: string | null;
  tenantId: string;
  errors: PolicyIssue[];
  warnings: PolicyIssue[];
  checks: Array<{ name: string; passed: boolean }>;
}

const on = (v: string | undefined) => v === '1' || v === 'true';

export async function validatePolicyDocument(
  rt: Runtime,
  principal: Principal,
  document: Record<string, unknown>,
  options: z.infer<typeof policyValidateQuery> = {},
): Promise<PolicyValidation> {
  const errors: PolicyIssue[] = [];
  const warnings: PolicyIssue[] = [];
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) {
    for (const i of parsed.error.issues) errors.push({ path: i.path.length ? i.path.map(String).join('.') : '(root)', code: i.code, message: i.message });
  }
  const localValid = parsed.success;
  const remote: PolicyIssue[] = [];
  if (parsed.success) {
    const d = parsed.data;
    for (const [tool, entry] of Object.entries(d.tools)) {
      if (entry.evidence_preset && !PRESETS.has(entry.evidence_preset)) {
        remote.push({ path: `tools.${tool}.evidence_preset`, code: 'unknown_evidence_preset', message: `${entry.evidence_preset} is not a completion preset of this gateway` });
      } else if (entry.evidence_preset && PRESETS.get(entry.evidence_preset)!.deprecated) {
        warnings.push({ path: `tools.${tool}.evidence_preset`, code: 'deprecated_evidence_preset', message: `${entry.evidence_preset} is deprecated` });
      }
      if (entry.vendor_pack && PRESETS.get(entry.vendor_pack)?.kind !== 'vendor_pack') {
        remote.push({ path: `tools.${tool}.vendor_pack`, code: 'unknown_vendor_pack', message: `${entry.vendor_pack} is not a vendor pack of this gateway` });
      }
      if (on(options.strict) && entry.side_effecting && d.intent?.allowed_tools && !d.intent.allowed_tools.includes(tool)) {
        remote.push({ path: `intent.allowed_tools`, code: 'side_effecting_tool_not_allowed', message: `side-effecting tool ${tool} is not in intent.allowed_tools` });
      }
    }
    const binding = d.intent?.policy_binding;
    if (binding) {
      if (!TEMPLATES[binding.template_id]) {
        remote.push({ path: 'intent.policy_binding.template_id', code: 'unknown_policy_template', message: `${binding.template_id} is not a policy template` });
      } else if (binding.version_seq !== undefined || binding.head_digest) {
        const version = await rt.db.policyVersion.findFirst({
          where: { tenantId: principal.tenantId, templateId: binding.template_id, ...(binding.version_seq !== undefined ? { seq: binding.version_seq } : { status: 'published' }) },
          orderBy: { seq: 'desc' },
        });
        if (!version) remote.push({ path: 'intent.policy_binding', code: 'policy_version_not_found', message: 'the tenant has no such policy version' });
        else if (version.status !== 'published') remote.push({ path: 'intent.policy_binding.version_seq', code: 'policy_version_not_published', message: `version ${version.seq} is ${version.status}` });
        else if (binding.head_digest && binding.head_digest.slice('sha256:'.length).toLowerCase() !== version.digestHex) {
          remote.push({ path: 'intent.policy_binding.head_digest', code: 'policy_head_digest_mismatch', message: 'head_digest does not match the published version' });
        }
      }
    }
    if (on(options.resolve_inheritance)) warnings.push({ path: 'extends', code: 'inheritance_not_resolved', message: 'organization policy inheritance is not served by this gateway; the document was checked as given' });
  }
  errors.push(...remote);
  const remoteValid = localValid && remote.length === 0;
  return {
    valid: localValid && remoteValid,
    localValid,
    remoteValid,
    policyName: typeof document.name === 'string' ? document.name : null,
    tenantId: principal.tenantId,
    errors,
    warnings,
    checks: [
      { name: 'schema', passed: localValid },
      { name: 'registry', passed: remoteValid },
    ],
  };
}
