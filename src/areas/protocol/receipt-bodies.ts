import { createHash } from 'node:crypto';
import type { AgentMandateV1 } from './mandate.ts';
import {
  normalizeAuthorizationReceipt,
  normalizeSettlementReceipt,
  normalizeTransportBinding,
  type ProtocolAuthorizationReceiptBody,
  type ProtocolSettlementReceiptBody,
  type ProtocolTerminalState,
} from './receipts.ts';
import { GATEWAY_VERIFIER_ID, ProtocolFormatError, formatTimestamp } from './wire.ts';

/**
 * The gateway's side of the two protocol receipts (src/areas/protocol/receipts.ts has their wire
 * format, signing and verification): the bodies it issues from a verified mandate and from an
 * intent's state, and the deterministic authorization receipt id.
 */

export interface AuthorizationReceiptFrom {
  /** The verified mandate body, its digest and its signer. */
  mandate: AgentMandateV1;
  mandateDigestHex: string;
  mandateSignerPublicKeyHex: string;
  intentId: string;
  receiptId?: string;
  issuedAt: Date;
  transportBinding?: unknown;
  verifierId?: string;
}

/** The receipt body a mandate import yields; sign it with signAuthorizationReceipt. */
export function authorizationReceiptBody(from: AuthorizationReceiptFrom): ProtocolAuthorizationReceiptBody {
  const m = from.mandate;
  const intentId = from.intentId.toLowerCase();
  return normalizeAuthorizationReceipt({
    receipt_id: from.receiptId ?? authorizationReceiptId(m.authorization.tenant_id, intentId, from.mandateDigestHex),
    issued_at: formatTimestamp(from.issuedAt),
    status: 'authorized',
    intent_id: intentId,
    tenant_id: m.authorization.tenant_id,
    verifier_id: from.verifierId ?? GATEWAY_VERIFIER_ID,
    transport_binding: normalizeTransportBinding(from.transportBinding ?? {}),
    mandate_digest_sha256_hex: from.mandateDigestHex,
    imported_mandate_signing_public_key_ed25519_hex: from.mandateSignerPublicKeyHex,
    authorization: m.authorization,
    agent: m.agent,
    allowed_actions: m.allowed_actions,
    allowed_tools: m.allowed_tools,
    spend_ceiling: m.spend_ceiling,
    settlement: m.settlement,
    constraint: m.constraint,
    expires_at: m.expires_at,
    nonce: m.nonce,
    human_presence_mode: m.human_presence_mode,
  });
}

// Our own RFC 4122 name-space for authorization receipt ids (random, fixed once).
const RECEIPT_NAMESPACE = Buffer.from('6f1c2a8e4b3d4f0a9e7b5c1d2e3f4a5b', 'hex');

/**
 * Authorization receipt ids are name-based UUIDs (RFC 4122 version 5) of tenant, intent and mandate
 * digest: a retried import yields the same id, and an id never reveals which tenant it belongs to.
 */
export function authorizationReceiptId(tenantId: string, intentId: string, mandateDigestHex: string): string {
  const hash = createHash('sha1').update(RECEIPT_NAMESPACE).update(`${tenantId}\n${intentId.toLowerCase()}\n${mandateDigestHex}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The intent fields a settlement receipt reports. */
export interface SettlementIntentView {
  tenantId: string;
  intentId: string;
  state: string;
  disputeOutcome?: string | null;
  predicatePassed?: boolean | null;
  settlementRail: string;
  settlementMode: string;
  principalDid: string;
  payeeDid: string;
  currency: string;
  amountCents: number;
}

/**
 * The protocol's view of an intent's outcome, or null while it is not protocol-terminal. Money that
 * reached the payee is `released` (whether or not payout has been finalised); a resolved dispute
 * reports its outcome. An open dispute is not terminal (it may still resolve either way, and a
 * signed terminal receipt must never change); a voided intent never moved money and has no
 * protocol outcome. `escalated_external` is for a dispute handed to an outside process, which the
 * state machine (src/areas/harbor/state-machine.ts) does not have today.
 */
export function protocolHarborState(intent: { state: string; disputeOutcome?: string | null }): ProtocolTerminalState | null {
  switch (intent.state) {
    case 'released':
    case 'settled':
      return 'released';
    case 'refunded':
      return 'refunded';
    case 'resolved':
      return intent.disputeOutcome === 'release' ? 'released' : intent.disputeOutcome === 'refund' ? 'refunded' : intent.disputeOutcome === 'split' ? 'resolved_split' : null;
    default:
      return null;
  }
}

export interface SettlementReceiptFrom {
  intent: SettlementIntentView;
  authorizationReceiptId: string;
  mandateDigestHex: string;
  transportBinding?: unknown;
  issuedAt: Date;
  terminalObservedAt: Date;
  verifierId?: string;
}

/**
 * The settlement receipt body for an intent, or a ProtocolFormatError `protocol_not_terminal`
 * while the intent has not reached a protocol-terminal state.
 */
export function settlementReceiptBody(from: SettlementReceiptFrom): ProtocolSettlementReceiptBody {
  const { intent } = from;
  const state = protocolHarborState(intent);
  if (!state) throw new ProtocolFormatError('protocol_not_terminal', `intent is ${intent.state}; a settlement receipt exists once it is released, refunded or resolved`);
  const intentId = intent.intentId.toLowerCase();
  return normalizeSettlementReceipt({
    receipt_id: intentId,
    issued_at: formatTimestamp(from.issuedAt),
    intent_id: intentId,
    tenant_id: intent.tenantId,
    verifier_id: from.verifierId ?? GATEWAY_VERIFIER_ID,
    transport_binding: normalizeTransportBinding(from.transportBinding ?? {}),
    authorization_receipt_id: from.authorizationReceiptId,
    mandate_digest_sha256_hex: from.mandateDigestHex,
    harbor_state: state,
    predicate_passed: intent.predicatePassed ?? undefined,
    settlement_rail: intent.settlementRail,
    settlement_mode: intent.settlementMode,
    principal_did: intent.principalDid,
    payee_did: intent.payeeDid,
    currency: intent.currency,
    amount_cents: intent.amountCents,
    terminal_observed_at: formatTimestamp(from.terminalObservedAt),
  });
}
