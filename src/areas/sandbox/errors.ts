import { defineErrorCodes } from '../../kernel/errors.ts';

/** Sandbox codes: the simulator and the sandbox guardrail routes. */
export const sandboxErrorCodes = defineErrorCodes({
  tenant_field_not_allowed: 400,
  live_provider_material: 422,
  completion_preset_unknown: 422,
  simulator_rail_mismatch: 422,
  simulator_settlement_conflict: 409,
});

type SandboxErrorCodes = typeof sandboxErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends SandboxErrorCodes {}
}
