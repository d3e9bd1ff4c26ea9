import { matchesSchema } from '../../kernel/predicate.ts';
import catalog from './completion-presets.json' with { type: 'json' };

/**
 * Completion presets (the Paybond Kit catalog): a preset names the managed-policy template, its
 * parameters and the evidence schema of a bootstrap intent. Vendor packs also describe the
 * vendor's own evidence (its schema, the map to canonical field names, quality fields) and the
 * fields that must never be evidence (funding artefacts such as PaymentIntent ids).
 */
type JsonObject = Record<string, unknown>;

export interface CompletionPreset {
  preset_id: string;
  kind: 'archetype' | 'vendor_pack';
  harbor_template_id: string;
  parameters: JsonObject;
  evidence_schema: JsonObject;
  recommended_amount_cents?: number | null;
  rail_hints: string[];
  archetype_preset_id?: string;
  vendor_evidence_schema?: JsonObject;
  evidence_field_map?: Record<string, string>;
  forbidden_evidence_fields?: string[];
  vendor_contract?: { provider?: string; api_version?: string; quality_fields?: string[]; schema_digest_hex?: string; canonical_schema_digest_hex?: string };
  deprecated?: boolean;
  superseded_by?: string;
}

export const PRESETS: ReadonlyMap<string, CompletionPreset> = new Map((catalog.presets as CompletionPreset[]).map((p) => [p.preset_id, p]));

export type DriftKind = 'missing_field' | 'type_mismatch' | 'quality_field_missing' | 'forbidden_field_present' | 'pack_stale';

/** Where a payload departs from a (flat) evidence schema: required fields missing, fields of the wrong type. */
function schemaDrift(schema: unknown, value: JsonObject): DriftKind[] {
  const s = (schema ?? {}) as { required?: string[]; properties?: Record<string, unknown> };
  const kinds: DriftKind[] = [];
  if (s.required?.some((k) => value[k] === undefined)) kinds.push('missing_field');
  if (Object.entries(s.properties ?? {}).some(([k, sub]) => value[k] !== undefined && !matchesSchema(sub, value[k]))) kinds.push('type_mismatch');
  return kinds;
}

/** A vendor payload in canonical field names; a scalar mapped onto an array field becomes a one-element array. */
function toCanonical(preset: CompletionPreset, vendor: JsonObject): JsonObject {
  const properties = (preset.evidence_schema.properties ?? {}) as Record<string, { type?: string }>;
  const out: JsonObject = {};
  for (const [from, to] of Object.entries(preset.evidence_field_map ?? {})) {
    if (vendor[from] === undefined) continue;
    out[to] = properties[to]?.type === 'array' && !Array.isArray(vendor[from]) ? [vendor[from]] : vendor[from];
  }
  return out;
}

export interface EvidenceCheck {
  /** The payload the predicate is evaluated against. */
  payload: JsonObject;
  vendorSchemaOk: boolean;
  canonicalSchemaOk: boolean;
  qualityFieldsMissing: string[];
  /** The catalog is part of the gateway, so an intent's pinned contract never differs from it. */
  packStale: boolean;
  driftKinds: DriftKind[];
  forbiddenFieldsPresent: string[];
}

/**
 * Check sandbox evidence against its preset (or, without one, the intent's evidence schema). The
 * canonical payload is `payload`, or a vendor pack's `vendor_payload` mapped to canonical names.
 * Drift is reported, never thrown: the answer says what to fix.
 */
export function checkEvidence(preset: CompletionPreset | null, evidenceSchema: unknown, input: { payload?: JsonObject; vendorPayload?: JsonObject }): EvidenceCheck {
  const vendorPack = preset?.kind === 'vendor_pack';
  const payload = input.payload ?? (input.vendorPayload ? (vendorPack ? toCanonical(preset, input.vendorPayload) : input.vendorPayload) : {});
  const drift = new Set<DriftKind>(schemaDrift(preset?.evidence_schema ?? evidenceSchema, payload));
  let canonicalSchemaOk = drift.size === 0 && matchesSchema(preset?.evidence_schema ?? evidenceSchema, payload);
  let vendorSchemaOk = true;
  if (vendorPack) {
    const vendorDrift = input.vendorPayload ? schemaDrift(preset.vendor_evidence_schema, input.vendorPayload) : (['missing_field'] as DriftKind[]);
    for (const kind of vendorDrift) drift.add(kind);
    vendorSchemaOk = vendorDrift.length === 0;
  }
  const quality = input.vendorPayload ?? payload;
  const qualityFieldsMissing = (preset?.vendor_contract?.quality_fields ?? []).filter((f) => quality[f] === undefined || quality[f] === null);
  if (qualityFieldsMissing.length) drift.add('quality_field_missing');
  const forbidden = preset?.forbidden_evidence_fields ?? [];
  const forbiddenFieldsPresent = forbidden.filter((f) => f in payload || (input.vendorPayload !== undefined && f in input.vendorPayload));
  if (forbiddenFieldsPresent.length) {
    drift.add('forbidden_field_present');
    canonicalSchemaOk = false;
    if (vendorPack && input.vendorPayload) vendorSchemaOk = false;
  }
  return { payload, vendorSchemaOk, canonicalSchemaOk, qualityFieldsMissing, packStale: false, driftKinds: [...drift], forbiddenFieldsPresent };
}
