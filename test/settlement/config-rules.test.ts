import { describe, expect, it } from 'vitest';
import {
  checkSettlementConfig,
  destinationReadiness,
  railAllowed,
  SANDBOX_SIMULATOR_DESTINATION,
  type ConfigContext,
  type DestinationView,
} from '../../src/areas/settlement/config-rules.ts';

const ADDRESS = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

const destination = (over: Partial<DestinationView> = {}): DestinationView => ({
  account_id: 'acct_1Live',
  status: 'active',
  server_owned: true,
  simulated: false,
  livemode: true,
  charges_enabled: true,
  payouts_enabled: true,
  ach_debit_capability: 'active',
  disabled_reason: null,
  ...over,
});
const live = (over: Partial<ConfigContext> = {}): ConfigContext => ({ environment: 'live', stripeConfigured: true, destination: destination(), ...over });
const sandbox: ConfigContext = { environment: 'sandbox', stripeConfigured: false, destination: null };

const codes = (result: ReturnType<typeof checkSettlementConfig>) => (result.ok ? [] : result.refusals.map((r) => r.code));

describe('settlement configuration rules', () => {
  it('a live tenant with a ready destination and an address may allow every rail; the result is canonical', () => {
    expect(checkSettlementConfig({ allowed_rails: ['x402_usdc_base', 'stripe_connect', 'stripe_ach_debit', 'stripe_connect'], default_rail: 'stripe_connect', x402_usdc_base_address: ADDRESS }, live())).toEqual({
      ok: true,
      config: { allowed_rails: ['stripe_ach_debit', 'stripe_connect', 'x402_usdc_base'], default_rail: 'stripe_connect', x402_usdc_base_address: ADDRESS },
    });
  });

  it('an empty list turns settlement off', () => {
    expect(checkSettlementConfig({ allowed_rails: [] }, live({ destination: null, stripeConfigured: false }))).toEqual({
      ok: true,
      config: { allowed_rails: [], default_rail: null, x402_usdc_base_address: null },
    });
  });

  it.each([[undefined], ['stripe_connect'], [[1]], [null]])('allowed_rails %j is invalid_request', (allowed_rails) => {
    expect(codes(checkSettlementConfig({ allowed_rails }, live()))).toEqual(['invalid_request']);
  });

  it('rails the configuration cannot enable are named', () => {
    const result = checkSettlementConfig({ allowed_rails: ['stripe_mpp', 'adyen_manual_capture', 'stripe_connect'] }, live());
    expect(result).toMatchObject({ ok: false, refusals: [{ code: 'settlement_rail_unsupported', field: ['allowed_rails'], details: { unsupported: ['adyen_manual_capture', 'stripe_mpp'] } }] });
  });

  it('default_rail must be allowed', () => {
    expect(codes(checkSettlementConfig({ allowed_rails: ['stripe_connect'], default_rail: 'stripe_ach_debit' }, live()))).toEqual(['settlement_default_rail_not_allowed']);
    expect(codes(checkSettlementConfig({ allowed_rails: ['stripe_connect'], default_rail: 7 }, live()))).toEqual(['settlement_default_rail_not_allowed']);
  });

  describe('Stripe rails on a live tenant', () => {
    it.each([
      ['no Stripe key', live({ stripeConfigured: false }), 'stripe_not_configured'],
      ['no destination', live({ destination: null }), 'stripe_destination_required'],
      ['an unlinked destination', live({ destination: destination({ status: 'unlinked' }) }), 'stripe_destination_required'],
      ['only the sandbox sentinel', live({ destination: { ...SANDBOX_SIMULATOR_DESTINATION } }), 'stripe_destination_required'],
      ['a disabled destination', live({ destination: destination({ status: 'disabled' }) }), 'stripe_destination_inactive'],
      ['a client-asserted destination', live({ destination: destination({ server_owned: false }) }), 'stripe_destination_inactive'],
      ['a test-mode destination', live({ destination: destination({ livemode: false }) }), 'stripe_destination_mode_mismatch'],
      ['charges disabled', live({ destination: destination({ charges_enabled: false }) }), 'stripe_destination_not_ready'],
      ['payouts disabled', live({ destination: destination({ payouts_enabled: false }) }), 'stripe_destination_not_ready'],
    ])('stripe_connect is refused with %s', (_label, ctx, code) => {
      expect(codes(checkSettlementConfig({ allowed_rails: ['stripe_connect'] }, ctx))).toEqual([code]);
    });

    it.each(['pending', 'inactive', 'not_requested'])('stripe_ach_debit is refused while the ACH capability is %s, stripe_connect is not', (ach) => {
      const ctx = live({ destination: destination({ ach_debit_capability: ach }) });
      const result = checkSettlementConfig({ allowed_rails: ['stripe_ach_debit'] }, ctx);
      expect(result).toMatchObject({ ok: false, refusals: [{ code: 'stripe_ach_debit_not_ready', details: { account_id: 'acct_1Live', ach_debit_capability: ach } }] });
      expect(checkSettlementConfig({ allowed_rails: ['stripe_connect'] }, ctx).ok).toBe(true);
    });

    it('the unmet requirements are listed', () => {
      const result = checkSettlementConfig({ allowed_rails: ['stripe_connect'] }, live({ destination: destination({ charges_enabled: false, payouts_enabled: false, disabled_reason: 'rejected.fraud' }) }));
      expect(result).toMatchObject({ ok: false, refusals: [{ details: { unmet: ['account_disabled', 'charges_disabled', 'payouts_disabled'] } }] });
    });
  });

  describe('sandbox tenants', () => {
    it('allow both Stripe rails with no key and no destination (the simulator sentinel)', () => {
      expect(checkSettlementConfig({ allowed_rails: ['stripe_ach_debit', 'stripe_connect'] }, sandbox).ok).toBe(true);
    });

    it('allow x402 without an address, and still verify one when given', () => {
      expect(checkSettlementConfig({ allowed_rails: ['x402_usdc_base'] }, sandbox).ok).toBe(true);
      expect(codes(checkSettlementConfig({ allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: ADDRESS.toLowerCase() }, sandbox))).toEqual(['x402_address_not_checksummed']);
    });
  });

  describe('x402 on a live tenant', () => {
    it.each([
      ['missing', undefined, 'x402_address_required'],
      ['null', null, 'x402_address_required'],
      ['malformed', '0x1234', 'x402_address_malformed'],
      ['not checksummed', ADDRESS.toLowerCase(), 'x402_address_not_checksummed'],
      ['a bad checksum', ADDRESS.replace('aA', 'Aa'), 'x402_address_checksum_mismatch'],
      ['the zero address', `0x${'0'.repeat(40)}`, 'x402_address_zero'],
    ])('refuses an address that is %s', (_label, address, code) => {
      expect(codes(checkSettlementConfig({ allowed_rails: ['x402_usdc_base'], x402_usdc_base_address: address }, live()))).toEqual([code]);
    });

    it('an address for a rail not (yet) allowed is still verified, then kept', () => {
      expect(codes(checkSettlementConfig({ allowed_rails: [], x402_usdc_base_address: '0xnope' }, live()))).toEqual(['x402_address_malformed']);
      expect(checkSettlementConfig({ allowed_rails: [], x402_usdc_base_address: ADDRESS }, live())).toMatchObject({ ok: true, config: { x402_usdc_base_address: ADDRESS } });
    });
  });

  it('reports every unmet requirement at once', () => {
    expect(codes(checkSettlementConfig({ allowed_rails: ['stripe_connect', 'x402_usdc_base', 'stripe_mpp'], default_rail: 'stripe_mpp' }, live({ stripeConfigured: false })))).toEqual([
      'settlement_rail_unsupported',
      'settlement_default_rail_not_allowed',
      'x402_address_required',
      'stripe_not_configured',
    ]);
  });
});

describe('destination readiness', () => {
  it('is ready for both rails when everything is enabled and ACH is active', () => {
    expect(destinationReadiness(destination())).toEqual({ stripe_connect: { ready: true, unmet: [] }, stripe_ach_debit: { ready: true, unmet: [] } });
    expect(destinationReadiness(SANDBOX_SIMULATOR_DESTINATION).stripe_ach_debit.ready).toBe(true);
  });

  it('names what ACH still needs', () => {
    expect(destinationReadiness(destination({ ach_debit_capability: 'pending' }))).toEqual({
      stripe_connect: { ready: true, unmet: [] },
      stripe_ach_debit: { ready: false, unmet: ['ach_debit_capability_pending'] },
    });
    expect(destinationReadiness(destination({ status: 'unlinked', payouts_enabled: false })).stripe_ach_debit).toEqual({
      ready: false,
      unmet: ['destination_unlinked', 'payouts_disabled'],
    });
  });
});

describe('rail gate for Harbor creation and funding', () => {
  it('follows the active configuration', () => {
    const config = { allowed_rails: ['stripe_ach_debit' as const] };
    expect(railAllowed('stripe_ach_debit', config, 'live')).toBe(true);
    expect(railAllowed('stripe_connect', config, 'live')).toBe(false);
    expect(railAllowed('stripe_mpp', config, 'sandbox')).toBe(false);
  });

  it('without a configuration: every rail in sandbox, none live', () => {
    expect(railAllowed('stripe_mpp', null, 'sandbox')).toBe(true);
    expect(railAllowed('stripe_connect', null, 'live')).toBe(false);
  });
});
