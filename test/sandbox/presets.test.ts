import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../src/crypto/canonical-json.ts';
import { materialize, TEMPLATES } from '../../src/kernel/policy-templates.ts';
import { checkEvidence, PRESETS } from '../../src/areas/sandbox/presets.ts';

const hex = (value: unknown) => Buffer.from(jsonDigest(value)).toString('hex');

describe('completion presets', () => {
  it('carries the 17 catalog presets, each resolving to a template the gateway materialises', () => {
    expect(PRESETS.size).toBe(17);
    for (const preset of PRESETS.values()) {
      expect(TEMPLATES[preset.harbor_template_id], preset.preset_id).toBeDefined();
      expect(() => materialize(preset.harbor_template_id, preset.parameters), preset.preset_id).not.toThrow();
      if (preset.kind === 'vendor_pack') expect(PRESETS.get(preset.archetype_preset_id!)?.kind, preset.preset_id).toBe('archetype');
    }
  });

  it('vendor contract digests are BLAKE3 of the JCS schemas (the gateway’s own digest): the data is intact', () => {
    const packs = [...PRESETS.values()].filter((p) => p.kind === 'vendor_pack');
    expect(packs).toHaveLength(12);
    for (const pack of packs) {
      expect(hex(pack.vendor_evidence_schema), pack.preset_id).toBe(pack.vendor_contract?.schema_digest_hex);
      expect(hex(pack.evidence_schema), pack.preset_id).toBe(pack.vendor_contract?.canonical_schema_digest_hex);
    }
  });

  it('reports drift without throwing', () => {
    const pack = PRESETS.get('ach_vendor_webhook')!;
    const mapped = checkEvidence(pack, {}, { vendorPayload: { vendor_event_id: 'v1', vendor_event_type: 'booking.confirmed', payload_digest: 'd' } });
    expect(mapped).toMatchObject({ payload: { webhook_event_id: 'v1', event_type: 'booking.confirmed', payload_digest: 'd' }, canonicalSchemaOk: true, vendorSchemaOk: true, driftKinds: [] });
    const archetype = PRESETS.get('cost_and_completion')!;
    expect(checkEvidence(archetype, {}, {})).toMatchObject({ canonicalSchemaOk: false, vendorSchemaOk: true, driftKinds: ['missing_field'] });
    expect(checkEvidence(archetype, {}, { payload: { status: 'completed', cost_cents: 1.5 } })).toMatchObject({ canonicalSchemaOk: false, driftKinds: ['type_mismatch'] });
    // Without a preset only the intent's schema applies.
    expect(checkEvidence(null, { type: 'object', required: ['a'] }, { payload: { a: 1 } })).toMatchObject({ canonicalSchemaOk: true, driftKinds: [] });
    expect(checkEvidence(null, { type: 'object', required: ['a'] }, { vendorPayload: { b: 1 } })).toMatchObject({ payload: { b: 1 }, canonicalSchemaOk: false });
  });
});
