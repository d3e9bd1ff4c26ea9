import { createHash, sign as edSign } from 'node:crypto';
import { canonicalJson } from '../../crypto/canonical-json.ts';
import type { SigningKey } from '../../secrets.ts';
import { TEMPLATES } from '../../kernel/policy-templates.ts';
import { PRESETS, type CompletionPreset } from '../sandbox/presets.ts';
import { SETTLEMENT_RAILS } from './wire.ts';

/**
 * A2A discovery: the gateway's agent card (signed with the gateway key `runtime.keys.signing`),
 * its JWKS, and the task-contract catalogue. Field names follow the Paybond Kit SDK's
 * `A2AAgentCard`, `A2ATaskContractCatalogV1` and `A2ASettlementTaskContractV1` types; contracts
 * are built from the completion presets (src/areas/sandbox/completion-presets.json) and the
 * managed-policy templates (src/kernel/policy-templates.ts), never written by hand.
 */

export const CARD_VERSION = '2.0.0';
export const CONTRACT_KIND = 'paybond.a2a_settlement_task_contract_v1';
export const CATALOG_KIND = 'paybond.a2a_task_contract_catalog_v1';
export const CONTRACT_VERSION = '1';
export const AGENT_CARD_PATH = '/.well-known/agent-card.json';
export const JWKS_PATH = '/.well-known/jwks.json';
export const DELEGATED_SETTLEMENT_OPERATION = 'harbor.delegated_settlement';

const ROUTE_BINDINGS = [
  'POST /harbor/intents',
  'POST /harbor/intents/{intent_id}/fund',
  'POST /protocol/v2/mandates',
  'POST /harbor/intents/{intent_id}/evidence',
  'POST /harbor/intents/{intent_id}/settlement/confirm',
  'GET /protocol/v2/receipts/{receipt_id}',
];

export interface TaskField {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

export interface TaskContract {
  schemaVersion: number;
  kind: string;
  id: string;
  version: string;
  name: string;
  title: string;
  description: string;
  url: string;
  operation: string;
  routeBindings: string[];
  requiredTrustArtifacts: string[];
  settlementPhases: string[];
  participants: Array<{ role: string; required: boolean; description: string }>;
  inputModes: string[];
  outputModes: string[];
  inputFields: TaskField[];
  resultFields: TaskField[];
  evidenceSchema: Record<string, unknown>;
  predicateTemplate: { templateId: string; title: string; description: string; parameters: Record<string, unknown> };
  completionPresetId: string;
  settlementRails: string[];
  /** SHA-256 (hex) of the RFC 8785 form of every other field of the contract. */
  contentDigestSha256Hex: string;
}

const base = (publicBaseUrl: string | undefined): string => (publicBaseUrl ?? '').replace(/\/+$/, '');
const abs = (publicBaseUrl: string | undefined, path: string) => `${base(publicBaseUrl)}${path}`;

function typeOf(schema: unknown): string {
  const t = (schema as { type?: unknown } | null)?.type;
  return typeof t === 'string' ? t : Array.isArray(t) ? t.join('|') : 'any';
}

function evidenceFields(schema: Record<string, unknown>): TaskField[] {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  return Object.entries(properties).map(([name, s]) => ({ name: `evidence.${name}`, type: typeOf(s), required: required.has(name), description: `Evidence field ${name}.` }));
}

function contractFor(preset: CompletionPreset, publicBaseUrl: string | undefined): TaskContract {
  const template = TEMPLATES[preset.harbor_template_id];
  const id = `harbor.${preset.preset_id}`;
  const rails = preset.rail_hints.filter((r) => SETTLEMENT_RAILS.has(r));
  const body: Omit<TaskContract, 'contentDigestSha256Hex'> = {
    schemaVersion: 1,
    kind: CONTRACT_KIND,
    id,
    version: CONTRACT_VERSION,
    name: id,
    title: template ? `${template.title} (${preset.preset_id})` : preset.preset_id,
    description: `Delegated payment settled by Harbor when the evidence satisfies ${preset.harbor_template_id}${template ? `: ${template.description}` : ''}`,
    url: abs(publicBaseUrl, `/protocol/v2/a2a/task-contracts/${id}`),
    operation: DELEGATED_SETTLEMENT_OPERATION,
    routeBindings: ROUTE_BINDINGS,
    requiredTrustArtifacts: ['paybond.agent_mandate_v1', 'paybond.agent_recognition_proof_v1', 'paybond.protocol_authorization_receipt_v1', 'paybond.protocol_settlement_receipt_v1'],
    settlementPhases: ['create', 'fund', 'mandate_import', 'evidence', 'settlement', 'receipt'],
    participants: [
      { role: 'principal', required: true, description: 'Signs the intent terms and the agent mandate; its money is held.' },
      { role: 'agent', required: true, description: 'Acts under the mandate and proves its identity with a recognition proof.' },
      { role: 'payee', required: true, description: 'Delivers the work and submits the evidence.' },
    ],
    inputModes: ['application/json'],
    outputModes: ['application/json'],
    inputFields: [
      { name: 'intent_id', type: 'string', required: true, description: 'The Harbor intent (UUID).' },
      { name: 'signed_mandate', type: 'object', required: true, description: 'AgentMandateV1 signed by the principal or tenant.' },
      { name: 'recognition_proof', type: 'object', required: true, description: 'AgentRecognitionProofV1 with purpose protocol.mandate.import.' },
      ...evidenceFields(preset.evidence_schema),
    ],
    resultFields: [
      { name: 'authorization_receipt', type: 'object', required: true, description: 'ProtocolAuthorizationReceiptV1 signed by the gateway.' },
      { name: 'settlement_receipt', type: 'object', required: true, description: 'ProtocolSettlementReceiptV1 once the intent is released, refunded or resolved.' },
    ],
    evidenceSchema: preset.evidence_schema,
    predicateTemplate: {
      templateId: preset.harbor_template_id,
      title: template?.title ?? preset.harbor_template_id,
      description: template?.description ?? '',
      parameters: preset.parameters,
    },
    completionPresetId: preset.preset_id,
    settlementRails: rails.length ? rails : [...SETTLEMENT_RAILS].sort(),
  };
  return { ...body, contentDigestSha256Hex: createHash('sha256').update(canonicalJson(body)).digest('hex') };
}

const catalogues = new Map<string, TaskContract[]>();

/** Every published task contract, ordered by id (deprecated presets are not published). */
export function taskContracts(publicBaseUrl: string | undefined): TaskContract[] {
  const key = base(publicBaseUrl);
  let list = catalogues.get(key);
  if (!list) {
    list = [...PRESETS.values()]
      .filter((p) => !p.deprecated && TEMPLATES[p.harbor_template_id])
      .map((p) => contractFor(p, publicBaseUrl))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    catalogues.set(key, list);
  }
  return list;
}

export const findTaskContract = (publicBaseUrl: string | undefined, id: string): TaskContract | null =>
  taskContracts(publicBaseUrl).find((c) => c.id === id) ?? null;

/** One page of contracts after `cursor` (a contract id), at most `limit`. */
export function taskContractPage(publicBaseUrl: string | undefined, limit: number, cursor?: string | null) {
  const all = taskContracts(publicBaseUrl);
  const start = cursor ? all.findIndex((c) => c.id > cursor) : 0;
  const from = start < 0 ? all.length : start;
  const contracts = all.slice(from, from + limit);
  const more = from + limit < all.length;
  return {
    schemaVersion: 1,
    kind: CATALOG_KIND,
    agentCardUrl: abs(publicBaseUrl, AGENT_CARD_PATH),
    documentationUrl: abs(publicBaseUrl, '/agent-docs/INDEX.md'),
    contracts,
    totalCount: all.length,
    nextCursor: more ? contracts[contracts.length - 1]!.id : null,
  };
}

/** A2A AgentCardSignature: a JWS (RFC 7515) over the RFC 8785 form of the card without `signatures`, payload detached. */
export interface CardSignature {
  protected: string;
  signature: string;
  header: { kid: string };
}

export interface AgentCard {
  name: string;
  description: string;
  url: string;
  supportedInterfaces: Array<{ url: string; protocolBinding: string; protocolVersion: string }>;
  provider: { url: string; organization: string };
  version: string;
  protocolVersion: string;
  documentationUrl: string;
  capabilities: { streaming: boolean; pushNotifications: boolean; extendedAgentCard: boolean; extensions: Array<{ uri: string; description: string; required: boolean }> };
  securitySchemes: Record<string, Record<string, unknown>>;
  security: Array<Record<string, string[]>>;
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: Array<{ id: string; name: string; description: string; tags: string[]; inputModes: string[]; outputModes: string[]; securityRequirements: Array<Record<string, string[]>> }>;
  links: Array<{ rel: string; href: string; type: string }>;
  signatures: CardSignature[];
}

export interface SignedCard {
  card: AgentCard;
  /** The card's bytes as served, and their strong ETag. */
  json: string;
  etag: string;
}

const cards = new WeakMap<SigningKey, Map<string, SignedCard>>();

/**
 * The signed agent card. Deterministic for a key and base URL (Ed25519 signatures are), so every
 * node serves the same bytes and ETag; cached per key.
 */
export function agentCard(key: SigningKey, publicBaseUrl: string | undefined): SignedCard {
  let byBase = cards.get(key);
  if (!byBase) cards.set(key, (byBase = new Map()));
  const cached = byBase.get(base(publicBaseUrl));
  if (cached) return cached;
  const url = abs(publicBaseUrl, '/');
  const bearer = { bearer: [] as string[] };
  const unsigned: Omit<AgentCard, 'signatures'> = {
    name: 'Paybond Gateway',
    description: 'Agent-payments gateway: Harbor escrow intents, signed agent mandates, recognition proofs and signed protocol receipts.',
    url,
    supportedInterfaces: [{ url, protocolBinding: 'HTTP+JSON', protocolVersion: '0.3.0' }],
    provider: { url, organization: 'Paybond Gateway (self-hosted)' },
    version: CARD_VERSION,
    protocolVersion: '0.3.0',
    documentationUrl: abs(publicBaseUrl, '/agent-docs/INDEX.md'),
    capabilities: {
      streaming: false,
      pushNotifications: false,
      extendedAgentCard: false,
      extensions: [{ uri: abs(publicBaseUrl, '/protocol/v2/a2a/task-contracts'), description: 'Paybond settlement task contracts.', required: false }],
    },
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A tenant API key, session or machine token.' },
      agentSignature: {
        type: 'apiKey',
        in: 'header',
        name: 'x-paybond-agent-recognition-proof',
        description: 'AgentRecognitionProofV1 (ed25519-sha256-json-v1) signed by a trusted agent key of the tenant, or X-Agent-Signature on a key-bound agent JWT request.',
      },
    },
    security: [bearer],
    defaultInputModes: ['application/json'],
    defaultOutputModes: ['application/json'],
    skills: taskContracts(publicBaseUrl).map((c) => ({
      id: c.id,
      name: c.title,
      description: c.description,
      tags: ['payments', 'escrow', c.predicateTemplate.templateId],
      inputModes: c.inputModes,
      outputModes: c.outputModes,
      securityRequirements: [{ bearer: [], agentSignature: [] }],
    })),
    links: [
      { rel: 'service-desc', href: abs(publicBaseUrl, '/openapi.json'), type: 'application/vnd.oai.openapi+json' },
      { rel: 'service-doc', href: abs(publicBaseUrl, '/agent-docs/INDEX.md'), type: 'text/markdown' },
      { rel: 'describedby', href: abs(publicBaseUrl, '/agents/skill.md'), type: 'text/markdown' },
      { rel: 'jwks', href: abs(publicBaseUrl, JWKS_PATH), type: 'application/jwk-set+json' },
    ],
  };
  const header = { alg: 'EdDSA', typ: 'JOSE', kid: key.keyId };
  const protectedB64 = Buffer.from(JSON.stringify(header)).toString('base64url');
  const payloadB64 = Buffer.from(canonicalJson(unsigned)).toString('base64url');
  const { sign } = signerOf(key);
  const signature = sign(Buffer.from(`${protectedB64}.${payloadB64}`)).toString('base64url');
  const card: AgentCard = { ...unsigned, signatures: [{ protected: protectedB64, signature, header: { kid: key.keyId } }] };
  const json = JSON.stringify(card);
  const signed = { card, json, etag: `"${createHash('sha256').update(json).digest('base64url')}"` };
  byBase.set(base(publicBaseUrl), signed);
  return signed;
}

const signerOf = (key: SigningKey) => ({ sign: (data: Buffer) => edSign(null, data, key.privateKey) });

/** The JWKS that verifies the card's JWS (and the other artifacts the gateway key signs). */
export function gatewayJwks(key: SigningKey) {
  const x = Buffer.from(key.publicKeyHex, 'hex').toString('base64url');
  return { keys: [{ kty: 'OKP', crv: 'Ed25519', x, kid: key.keyId, alg: 'EdDSA', use: 'sig' }] };
}
