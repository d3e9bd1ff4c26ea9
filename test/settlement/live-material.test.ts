import { describe, expect, it } from 'vitest';
import { findLiveMaterial } from '../../src/areas/settlement/live-material.ts';

const SK = `sk_live_${'51Hx'.repeat(6)}`;
const kinds = (body: unknown, options?: Parameters<typeof findLiveMaterial>[1]) => findLiveMaterial(body, options).map((f) => f.kind);

describe('live provider material detection', () => {
  it('finds nothing in an ordinary sandbox simulator body', () => {
    expect(
      findLiveMaterial({
        intent_id: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401',
        kind: 'funding_succeeded',
        settlement_rail: 'stripe_ach_debit',
        livemode: false,
        environment: 'sandbox',
        metadata: { note: 'skip the live demo', key: 'sk_test_abc123', account: 'acct_1TestOnly', mode: 'test', words: 'task_live_update sk_live_' },
      }),
    ).toEqual([]);
  });

  it.each([
    ['a Stripe live secret key', { key: SK }, 'stripe_live_secret_key', '/key'],
    ['a restricted live key', { k: 'rk_live_abc123' }, 'stripe_live_restricted_key', '/k'],
    ['a publishable live key', { k: 'pk_live_abc123' }, 'stripe_live_publishable_key', '/k'],
    ['a webhook signing secret', { k: 'whsec_abc123' }, 'webhook_signing_secret', '/k'],
    ['a live Paybond API key', { k: 'paybond_sk_live_key1_secret' }, 'paybond_live_api_key', '/k'],
    ['a key inside a header-like string', { headers: { authorization: `Bearer ${SK}` } }, 'stripe_live_secret_key', '/headers/authorization'],
    ['a key glued after an underscore', { k: `cfg_${SK}` }, 'stripe_live_secret_key', '/k'],
    ['a key deep in an array', { a: [{ b: [1, 'x', { c: SK }] }] }, 'stripe_live_secret_key', '/a/0/b/2/c'],
    ['a key at the top level', SK, 'stripe_live_secret_key', ''],
  ])('finds %s', (_label, body, kind, path) => {
    expect(findLiveMaterial(body)).toContainEqual(expect.objectContaining({ kind, path, where: 'value' }));
  });

  it('reports a Paybond live key as that, not also as a Stripe key; both when both are present', () => {
    expect(kinds({ k: 'paybond_sk_live_key1_secret' })).toEqual(['paybond_live_api_key']);
    expect(kinds({ k: `paybond_sk_live_key1_secret and ${SK}` }).sort()).toEqual(['paybond_live_api_key', 'stripe_live_secret_key']);
  });

  it('finds secrets used as object keys', () => {
    expect(findLiveMaterial({ [SK]: 1 })).toEqual([{ kind: 'stripe_live_secret_key', path: `/${SK}`, where: 'key', hint: 'sk_live_…' }]);
  });

  it('never echoes the secret', () => {
    const text = JSON.stringify(findLiveMaterial({ key: SK, deep: { k: 'whsec_supersecretvalue' } }));
    expect(text).not.toContain('51Hx');
    expect(text).not.toContain('supersecret');
  });

  it.each([
    [{ livemode: true }, '/livemode'],
    [{ livemode: 'true' }, '/livemode'],
    [{ live_mode: true }, '/live_mode'],
    [{ LiveMode: true }, '/LiveMode'],
    [{ 'is-live': true }, '/is-live'],
    [{ environment: 'live' }, '/environment'],
    [{ env: 'LIVE' }, '/env'],
    [{ stripe_mode: 'live' }, '/stripe_mode'],
    [{ data: { object: { livemode: true } } }, '/data/object/livemode'],
  ])('finds the live mode flag in %j', (body, path) => {
    expect(findLiveMaterial(body)).toContainEqual(expect.objectContaining({ kind: 'live_mode_flag', path }));
  });

  it.each([[{ livemode: false }], [{ livemode: 'false' }], [{ livemode: 1 }], [{ environment: 'sandbox' }], [{ mode: 'production-like' }], [{ note: 'livemode: true' }]])(
    'does not treat %j as a live flag',
    (body) => {
      expect(kinds(body)).not.toContain('live_mode_flag');
    },
  );

  it('flags account ids inside an object marked live, at any depth below it, and nowhere else', () => {
    const findings = findLiveMaterial({
      event: { livemode: true, account: 'acct_1LiveConn', data: { object: { destination: 'acct_1Dest' } } },
      other: { account: 'acct_1Sandbox' },
    });
    expect(findings.filter((f) => f.kind === 'live_account_id').map((f) => f.path).sort()).toEqual(['/event/account', '/event/data/object/destination']);
  });

  it('flags an account id the caller knows to be live, anywhere', () => {
    const live = new Set(['acct_1KnownLive']);
    expect(findLiveMaterial({ destination: 'acct_1KnownLive' }, { liveAccountIds: live })).toEqual([
      { kind: 'live_account_id', path: '/destination', where: 'value', hint: 'acct_…' },
    ]);
    expect(findLiveMaterial({ destination: 'acct_1KnownLiveButLonger' }, { liveAccountIds: live })).toEqual([]);
    expect(findLiveMaterial({ destination: 'acct_1Other' }, { liveAccountIds: live })).toEqual([]);
  });

  it('escapes JSON pointer segments', () => {
    expect(findLiveMaterial({ 'a/b': { '~c': SK } })[0]!.path).toBe('/a~1b/~0c');
  });

  it('fails closed on a body too deep to scan', () => {
    let deep: unknown = SK;
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(kinds(deep)).toEqual(['scan_limit_exceeded']);
    expect(kinds(deep, { maxDepth: 200 })).toEqual(['stripe_live_secret_key']);
  });

  it('fails closed on a body with too many values to scan', () => {
    expect(kinds({ many: Array.from({ length: 50 }, (_, i) => i) }, { maxNodes: 10 })).toEqual(['scan_limit_exceeded']);
  });

  it.each([null, 0, true, 'plain', [], {}])('accepts the scalar or empty body %j', (body) => {
    expect(findLiveMaterial(body)).toEqual([]);
  });
});
