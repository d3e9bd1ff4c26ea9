import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestGateway, gql, type TestGateway } from '../helpers/gateway.ts';
import { createOrg, type TestOrg } from '../helpers/factories.ts';
import { schema } from '../../src/graphql/schema.ts';
import { isObjectType } from 'graphql';

/**
 * Finding 3 of issue 11: a crafted global id (an unknown type, a type that is not a node, a
 * node type with a malformed id) answers null — never a 500 — and never logs at error level.
 */
let gw: TestGateway;
let org: TestOrg;
const errorLines: unknown[] = [];

beforeAll(async () => {
  gw = await createTestGateway();
  org = await createOrg(gw);
  const log = gw.runtime.log;
  const original = log.error.bind(log);
  log.error = ((...args: unknown[]) => {
    errorLines.push(args);
    return (original as (...a: unknown[]) => void)(...args);
  }) as typeof log.error;
});
afterAll(() => gw?.close());

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const typeNames = Object.values(schema.getTypeMap())
  .filter((t) => isObjectType(t) && !t.name.startsWith('__'))
  .map((t) => t.name);

const crafted = [
  b64('Foo:1'),
  'Rm9vOjE=',
  b64('User:usr_1'),
  b64(':'),
  b64('nocolon'),
  '!!!not-base64!!!',
  '',
  'x'.repeat(300),
  ...typeNames.flatMap((name) => [b64(`${name}:x`), b64(`${name}:`), b64(`${name}:${'9'.repeat(40)}`)]),
];

describe('every global id is safe', () => {
  it(`node(id) answers null without an error log for ${crafted.length} crafted ids`, async () => {
    const statuses = new Map<number, number>();
    for (const id of crafted) {
      const res = await gql(gw, 'query($id: ID!) { node(id: $id) { id } }', { id }, { token: org.admin.token.live });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, `${id}: ${JSON.stringify(res.errors)}`).toBeLessThan(500);
      for (const e of res.errors ?? []) expect(e.extensions?.code, `${id}: ${JSON.stringify(res.errors)}`).not.toBe('INTERNAL_ERROR');
      if (!res.errors) expect(res.data.node).toBeNull();
    }
    expect(errorLines, JSON.stringify(errorLines.slice(0, 3))).toEqual([]);
  });

  it('nodes(ids) answers null for each crafted id', async () => {
    const res = await gql(gw, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: crafted.filter(Boolean).slice(0, 50) }, { token: org.admin.token.live });
    expect(res.status, JSON.stringify(res.errors)).toBeLessThan(500);
    for (const e of res.errors ?? []) expect(e.extensions?.code).not.toBe('INTERNAL_ERROR');
    expect(errorLines, JSON.stringify(errorLines.slice(0, 3))).toEqual([]);
  });
});
