import { z } from 'zod';
import { schema } from '../../src/graphql/schema.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { routePolicy } from '../router.ts';
import { handler, type RestRoute } from '../route.ts';

/**
 * Discovery documents for agents and the models driving them. Route lists are generated from the
 * route table, so a document cannot name a path the gateway does not serve (a test checks it).
 */
const tag = 'Discovery';

const authLabel = (route: RestRoute): string => {
  const policy = routePolicy(schema, route);
  if (policy.principals === 'public') return 'none';
  if (policy.signed) return 'agent JWT + signature';
  // An agent JWT alone never writes: every write it makes is signed (or carries a recognition proof).
  const write = route.kind === 'operation' ? /^\s*mutation\b/.test(route.operation) : route.method !== 'GET';
  if (write && policy.principals.includes('agent')) {
    const others = policy.principals.filter((k) => k !== 'agent');
    return [...others, policy.recognition ? 'agent JWT + signature or recognition proof' : 'agent JWT + signature'].join(', ');
  }
  const kinds = policy.principals;
  if (kinds.length === 1 && kinds[0] === 'user') return policy.admin ? 'session (admin)' : 'session';
  return kinds.join(', ');
};

export function routeTable(routes: RestRoute[], filter: (r: RestRoute) => boolean): string {
  const rows = routes.filter(filter).map((r) => `| ${r.method} | \`${r.path}\` | ${authLabel(r)} | ${r.summary} |`);
  return ['| Method | Path | Credential | What it does |', '|---|---|---|---|', ...rows].join('\n');
}

const isAgentFacing = (r: RestRoute) => r.tag === 'Agent runtime' || r.tag === 'Harbor';

function llms(routes: RestRoute[]): string {
  return `# Paybond Gateway

> Agent-payments gateway: short-lived agent identity, Ed25519-signed high-risk requests,
> guardrails, rate limits and a verifiable ledger for every money movement.

Start here if you are an autonomous agent or a model helping one:

- [Agent runtime instructions](/agents/skill.md): how to get a key-bound runtime token and sign requests
- [Operating cadence and escalation](/agents/heartbeat.md): what to check every cycle, when to stop and ask a human
- [Agent docs index](/agent-docs/INDEX.md): every document and route in one place
- [OpenAPI 3.1](/openapi.json): the machine-readable REST surface (${routes.length} routes)
- GraphQL: POST /graphql (the same operations; the schema is introspectable)
`;
}

function skill(routes: RestRoute[]): string {
  return `# Paybond agent runtime skill

Use this when you act for a Paybond tenant: paying for a tool, settling a checkout, or reading
intents. You never handle a human's password or a long-lived payment credential.

## 1. Bootstrap your identity

1. A human tenant admin turns on **Agent Security Mode** and creates a **Personal Access Token**
   (\`paybond_pat_…\`) for you. Keep it in a secret store. It reads host APIs; it cannot move money.
2. Generate your own **Ed25519 key pair** in your runtime. Never send the private key anywhere;
   throw it away when the runtime ends.
3. Exchange: \`POST /api/agent/auth/pat\` with \`{"token": "<PAT>", "session_pubkey": "<base58 public key>", "label": "<runtime name>"}\`.
   You get \`access_token\`, a JWT valid for \`expires_in\` seconds (15 minutes by default) and bound
   to your key (\`cnf.jkt\`). Exchange again before it expires.

A runtime that owns a long-lived key registered by the tenant (a trusted agent key) can instead
call \`GET /api/agent/auth/nonce?agent_pubkey=<base58>\`, sign the nonce bytes, and send
\`POST /api/agent/auth/token\` with \`{"agent_pubkey", "nonce", "signature"}\`. A nonce works once.
The nonce answer names the tenant the sign-in is for (\`tenant_id\`): a trusted agent key is active
in exactly one tenant, and only its holder can register it (the tenant admin sends the key's
signature over \`paybond:trusted-agent-key:v1\\n<tenant_id>\\n<key_id>\\n<public key hex>\` as
\`registration_signature\`). If \`tenant_id\` is not the tenant you expect, stop.

## 2. Sign every write

Send \`Authorization: Bearer <access_token>\` plus:

- \`X-Agent-Timestamp\`: current unix time in seconds
- \`X-Agent-Signature\`: base64 Ed25519 signature, with your session key, over

\`\`\`
METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + lowercase hex SHA-256 of the exact body bytes
\`\`\`

PATH is the URL path without the query string (\`/api/agent/checkout/create\`; \`/graphql\` for
GraphQL). The signature does not cover a query string, so a signed write must not carry one
(\`401 signature_invalid\`). Every state-changing request made with an agent JWT must be signed
(\`401 signature_missing\`); Harbor writes may instead carry a recognition proof
(\`401 recognition_proof_required\` when neither is sent). Reads need no signature. Hash the bytes you send, not a re-serialisation. The gateway accepts timestamps up to 300
seconds old and 60 seconds ahead, and accepts **each signature once**: a retry must be signed again.
Send an \`Idempotency-Key\` on writes so a retried payment is never a second payment.

## 3. Routes for agents

${routeTable(routes, isAgentFacing)}

## 4. Errors

Every error is JSON: \`{"error": {"code", "message", "request_id"}}\`. Codes you should handle:
\`signature_missing\`, \`signature_invalid\`, \`signature_expired\`, \`signature_replayed\`,
\`key_not_bound\` (all 401: fix the signature, do not retry as is), \`token_expired\` (exchange again),
\`credential_revoked\` (stop: a human revoked you), \`agent_security_mode_disabled\` (stop and ask a
human), \`rate_limited\` (429: wait \`Retry-After\` seconds).
`;
}

function heartbeat(): string {
  return `# Paybond agent heartbeat

What a well-behaved agent does on every cycle, and when it must stop and escalate to a human.

## Every cycle

1. \`GET /api/agent/auth/me\` with your runtime token. Check \`tenant_id\`, \`environment\` and
   \`expires_at\`. Re-exchange your PAT when less than two minutes remain.
2. Confirm you are in the environment you expect: \`sandbox\` for rehearsal, \`live\` moves money.
3. Classify the next action: reads can proceed; every write needs a fresh signature and an
   \`Idempotency-Key\`; a payment also needs the amount, currency and recipient you were given.

## Retries

- Reads: retry on 429 and 5xx with backoff, honouring \`Retry-After\`.
- Writes: retry only with the same \`Idempotency-Key\` and a new signature. A replayed answer carries
  \`Idempotent-Replayed: true\`; it is the original result, not a second payment.
- Never retry a 401 or 403 unchanged.

## Escalate to a human (stop writing) when

- a credential that worked starts failing with \`credential_revoked\` or \`agent_security_mode_disabled\`;
- \`tenant_id\` or \`environment\` differ from what you were configured with;
- a payment answer disagrees with the request (amount, currency, recipient);
- you see repeated \`rate_limited\` or \`guardrail_violation\` answers;
- you cannot produce a valid signature.

## Report

Each cycle, keep: the auth method, tenant and environment, the writes attempted with their
idempotency keys and intent ids, and failures with their \`request_id\`. Never store the PAT, a
runtime token or a private key in that report.
`;
}

function index(routes: RestRoute[]): string {
  const tags = [...new Set(routes.map((r) => r.tag))];
  return `# Paybond Gateway agent docs

## Machine-readable

- [/llms.txt](/llms.txt)
- [/openapi.json](/openapi.json): OpenAPI 3.1, generated from the route table
- POST /graphql: GraphQL (introspection enabled; GraphiQL in a browser)

## Guides

- [/agents/skill.md](/agents/skill.md): identity bootstrap, request signing, agent routes, errors
- [/agents/heartbeat.md](/agents/heartbeat.md): per-cycle checks, retries, escalation

## Every route

${tags.map((t) => `### ${t}\n\n${routeTable(routes, (r) => r.tag === t)}`).join('\n\n')}
`;
}

const markdown = (text: string, type: string) =>
  new Response(text, { status: 200, headers: { 'content-type': type, 'cache-control': 'public, max-age=300' } });

export function discoveryRoutes(all: () => RestRoute[]): RestRoute[] {
  const doc = (path: string, summary: string, render: (routes: RestRoute[]) => string, type = 'text/markdown') => {
    let text: string | undefined;
    return handler({
      method: 'GET',
      path,
      summary,
      tag,
      auth: PUBLIC,
      response: z.string(),
      contentType: type,
      handle: async () => markdown((text ??= render(all())), `${type}; charset=utf-8`),
    });
  };
  return [
    doc('/llms.txt', 'Top-level discovery file for models.', llms, 'text/plain'),
    doc('/agents/skill.md', 'Runtime instructions for autonomous agents.', skill),
    doc('/agents/heartbeat.md', 'Operational cadence and escalation rules.', heartbeat),
    doc('/agent-docs/INDEX.md', 'Index of agent documentation and every route.', index),
  ];
}
