import { keccak_256 } from '@noble/hashes/sha3.js';

/**
 * EIP-55 mixed-case checksum addresses (https://eips.ethereum.org/EIPS/eip-55).
 *
 * The `x402_usdc_base` receive address must be given in checksummed form, and the checksum is
 * verified: a single mistyped character in a payout address sends money nowhere, and the checksum
 * is what catches it. An address whose hex part is all lower case (or all upper case) and is not
 * itself the checksummed form carries no checksum at all, so it is refused with its own code
 * (`address_not_checksummed`) rather than accepted unchecked — the caller can paste the
 * checksummed form from any wallet or block explorer. Addresses whose checksummed form happens to
 * be all lower/upper case (the EIP's own examples include such) are of course accepted.
 */
export type AddressCode = 'address_malformed' | 'address_not_checksummed' | 'address_checksum_mismatch' | 'address_zero';

export type AddressCheck = { ok: true; address: string } | { ok: false; code: AddressCode; message: string };

export class AddressError extends Error {
  readonly code: AddressCode;
  constructor(code: AddressCode, message: string) {
    super(message);
    this.name = 'AddressError';
    this.code = code;
  }
}

const SHAPE = /^0x[0-9a-fA-F]{40}$/;
const ZERO = `0x${'0'.repeat(40)}`;

/**
 * The EIP-55 form of a 20-byte hex address given in any case: each hex letter is upper-cased
 * when the matching nibble of keccak-256(lower-case hex, as ASCII) is 8 or more.
 */
export function toChecksumAddress(address: string): string {
  if (!SHAPE.test(address)) throw new AddressError('address_malformed', 'An address is 0x followed by 40 hex digits');
  const hex = address.slice(2).toLowerCase();
  const hash = keccak_256(new TextEncoder().encode(hex));
  let out = '0x';
  for (let i = 0; i < hex.length; i++) {
    const byte = hash[i >> 1]!;
    const nibble = i % 2 === 0 ? byte >> 4 : byte & 0x0f;
    out += nibble >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  }
  return out;
}

/** Validate a checksummed address; never throws. */
export function checkChecksumAddress(address: unknown): AddressCheck {
  if (typeof address !== 'string' || !SHAPE.test(address)) {
    return { ok: false, code: 'address_malformed', message: 'The address must be 0x followed by 40 hex digits' };
  }
  const expected = toChecksumAddress(address);
  if (address === expected) return { ok: true, address };
  const hex = address.slice(2);
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) {
    return { ok: false, code: 'address_not_checksummed', message: 'The address must be given in its EIP-55 checksummed (mixed-case) form' };
  }
  return { ok: false, code: 'address_checksum_mismatch', message: 'The address fails its EIP-55 checksum (a character is probably mistyped)' };
}

/**
 * Validate an address that will receive funds: checksummed as above, and not the zero address
 * (funds sent there are burned; it is never a real receive address).
 */
export function checkReceiveAddress(address: unknown): AddressCheck {
  const result = checkChecksumAddress(address);
  if (result.ok && result.address === ZERO) {
    return { ok: false, code: 'address_zero', message: 'The zero address cannot receive funds' };
  }
  return result;
}

/** Throwing variant of {@link checkReceiveAddress}. */
export function assertReceiveAddress(address: unknown): string {
  const result = checkReceiveAddress(address);
  if (!result.ok) throw new AddressError(result.code, result.message);
  return result.address;
}
