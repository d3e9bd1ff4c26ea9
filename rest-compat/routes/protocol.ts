import { z } from 'zod';
import { agentCard, findTaskContract, gatewayJwks, taskContractPage } from '../../src/areas/protocol/card.ts';
import { mandateImportInput, recognitionVerifyInput } from '../../src/areas/protocol/service.ts';
import { DomainError } from '../../src/kernel/errors.ts';
import { jsonResponse } from '../../src/kernel/http/envelope.ts';
import { PUBLIC } from '../../src/kernel/policy.ts';
import { handler, operation, type RestRoute } from '../route.ts';

/**
 * Protocol verification and discovery (Paybond Gateway API reference): A2A discovery documents
 * as handler routes (they carry ETag and Cache-Control), verification and import as operations.
 * Request and response fields are those of the Paybond Kit SDK (see docs/protocol.md).
 */
const tag = 'Protocol verification and discovery';
const USER_ERRORS = 'userErrors { code message field details }';
const CACHE = 'public, max-age=300';

/** An artifact the route takes as the whole body (a mandate, a receipt): its keys are not renamed. */
const artifactBody = z.looseObject({}).describe('The artifact as JSON, with its own (snake_case) field names.');

const json = z.record(z.string(), z.unknown());
const cardSchema = z.looseObject({
  name: z.string(),
  description: z.string(),
  url: z.string(),
  version: z.string(),
  capabilities: json,
  skills: z.array(json),
  securitySchemes: json,
  signatures: z.array(z.object({ protected: z.string(), signature: z.string(), header: json })),
});
const contractSchema = z.looseObject({ schemaVersion: z.number(), kind: z.string(), id: z.string(), version: z.string(), contentDigestSha256Hex: z.string() });
const catalogSchema = z.looseObject({ schemaVersion: z.number(), kind: z.string(), agentCardUrl: z.string(), contracts: z.array(contractSchema), next_cursor: z.string().nullable() });
const jwksSchema = z.object({ keys: z.array(json) });

const cardRoute = (path: string, summary: string): RestRoute =>
  handler({
    method: 'GET',
    path,
    summary,
    tag,
    auth: PUBLIC,
    response: cardSchema,
    handle: async (_input, ctx) => {
      const signed = agentCard(ctx.runtime.keys.signing, ctx.runtime.config.PUBLIC_BASE_URL);
      return new Response(signed.json, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8', etag: signed.etag, 'cache-control': CACHE } });
    },
  });

export const protocolRoutes: RestRoute[] = [
  cardRoute('/.well-known/agent-card.json', 'The gateway’s A2A agent card, signed: a JWS (EdDSA, gateway key) over its RFC 8785 form, verifiable with /.well-known/jwks.json.'),
  cardRoute('/protocol/v2/a2a/agent-card', 'Gateway-local alias of /.well-known/agent-card.json (the same signed card).'),
  handler({
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'The JWKS of the gateway signing key: verifies the agent card’s JWS (and the key that signs protocol receipts).',
    tag,
    auth: PUBLIC,
    response: jwksSchema,
    handle: async (_input, ctx) => jsonResponse(gatewayJwks(ctx.runtime.keys.signing), 200, { 'cache-control': CACHE, 'content-type': 'application/jwk-set+json' }),
  }),
  handler({
    method: 'GET',
    path: '/protocol/v2/a2a/task-contracts',
    summary: 'The task-contract catalogue for delegated workflows, one contract per completion preset (limit, cursor).',
    tag,
    auth: PUBLIC,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).optional().describe('Page size (default 50).'),
      cursor: z.string().max(200).optional().describe('next_cursor of the previous page.'),
    }),
    response: catalogSchema,
    handle: async ({ query }, ctx) => {
      const page = taskContractPage(ctx.runtime.config.PUBLIC_BASE_URL, (query.limit as number | undefined) ?? 50, query.cursor as string | undefined);
      const { nextCursor, totalCount: _total, ...rest } = page;
      return jsonResponse({ ...rest, next_cursor: nextCursor }, 200, { 'cache-control': CACHE });
    },
  }),
  handler({
    method: 'GET',
    path: '/protocol/v2/a2a/task-contracts/{contract_id}',
    summary: 'One published task contract by id.',
    tag,
    auth: PUBLIC,
    errors: [404],
    example: { params: { contract_id: 'harbor.api_response_ok' } },
    response: contractSchema,
    handle: async ({ params }, ctx) => {
      const contract = findTaskContract(ctx.runtime.config.PUBLIC_BASE_URL, params.contract_id!);
      if (!contract) throw new DomainError('task_contract_not_found', 'No published task contract has this id');
      return jsonResponse(contract, 200, { 'cache-control': CACHE });
    },
  }),
  operation({
    method: 'POST',
    path: '/protocol/v2/mandates/verify',
    summary: 'Verify a signed AgentMandateV1 envelope (the body) and return its normalized digest and body; a refusal names what failed (signature, digest, expiry, malformed, version).',
    tag,
    body: artifactBody,
    errors: [422],
    operation: `query($mandate: JSON!) { protocolMandateVerify(mandate: $mandate) {
      valid mandate_digest_sha256_hex: mandateDigestSha256Hex mandate signing_public_key_ed25519_hex: signingPublicKeyEd25519Hex expires_at: expiresAt } }`,
    variables: ({ body }) => ({ mandate: body }),
  }),
  operation({
    method: 'POST',
    path: '/protocol/v2/recognition/verify',
    summary: 'Verify an AgentRecognitionProofV1 against the expected purpose, verifier context and request envelope, and consume its nonce (a proof verifies once).',
    tag,
    body: recognitionVerifyInput,
    errors: [401, 403, 409, 422],
    operation: `mutation($input: ProtocolRecognitionVerifyInput!) { protocolRecognitionVerify(input: $input) { verification {
      valid key_id: keyId purpose tenant_id: tenantId verifier_id: verifierId nonce_consumed: nonceConsumed expires_at: expiresAt } ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
    shape: { pick: 'verification' },
  }),
  operation({
    method: 'POST',
    path: '/protocol/v2/receipts/verify',
    summary: 'Verify a ProtocolAuthorizationReceiptV1 or ProtocolSettlementReceiptV1 signed by this gateway (the body), or {receipt_id} of the caller’s tenant.',
    tag,
    body: artifactBody,
    errors: [404, 422],
    operation: `query($receipt: JSON!) { protocolReceiptVerify(receipt: $receipt) {
      valid kind receipt_id: receiptId tenant_id: tenantId receipt_digest_sha256_hex: receiptDigestSha256Hex receipt } }`,
    variables: ({ body }) => ({ receipt: body }),
  }),
  operation({
    method: 'POST',
    path: '/protocol/v2/mandates',
    summary: 'Import a signed AgentMandateV1, bind it to a Harbor intent exactly once (409 on a second import) and return a signed ProtocolAuthorizationReceiptV1.',
    tag,
    body: mandateImportInput,
    errors: [404, 409, 422],
    operation: `mutation($input: ProtocolMandateImportInput!) { protocolMandateImport(input: $input) {
      valid intent_id: intentId mandate_digest_sha256_hex: mandateDigestSha256Hex mandate authorization_receipt: authorizationReceipt ${USER_ERRORS} } }`,
    variables: ({ body }) => ({ input: body }),
  }),
  operation({
    method: 'GET',
    path: '/protocol/v2/receipts/{receipt_id}',
    summary: 'The signed ProtocolSettlementReceiptV1 of an intent with an imported mandate, once the intent is released, refunded or resolved (409 protocol_not_terminal before).',
    tag,
    errors: [409],
    example: { params: { receipt_id: '7f0c2f4e-1d2b-4c3a-9e8f-0a1b2c3d4e5f' } },
    operation: `query($receiptId: String!) { protocolSettlementReceipt(receiptId: $receiptId) }`,
    variables: ({ params }) => ({ receiptId: params.receipt_id }),
  }),
];
