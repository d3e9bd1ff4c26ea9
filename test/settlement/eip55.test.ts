import { describe, expect, it } from 'vitest';
import { AddressError, assertReceiveAddress, checkChecksumAddress, checkReceiveAddress, toChecksumAddress } from '../../src/areas/settlement/eip55.ts';

// The test cases published in EIP-55 (https://eips.ethereum.org/EIPS/eip-55#test-cases).
const ALL_CAPS = ['0x52908400098527886E0F7030069857D2E4169EE7', '0x8617E340B3D01FA5F11F306F4090FD50E238070D'];
const ALL_LOWER = ['0xde709f2102306220921060314715629080e2fb77', '0x27b1fdb04752bbc536007a920d24acb045561c26'];
const NORMAL = [
  '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
  '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
  '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
  '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
];
const SPEC = [...ALL_CAPS, ...ALL_LOWER, ...NORMAL];

/** Flip the case of the first hex letter: a one-character typo that EIP-55 must catch. */
function flipFirstLetter(address: string): string {
  const i = address.slice(2).search(/[a-fA-F]/) + 2;
  const c = address[i]!;
  return address.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + address.slice(i + 1);
}

describe('EIP-55 checksum', () => {
  it.each(SPEC)('computes the published checksummed form of %s from any case', (address) => {
    expect(toChecksumAddress(address.toLowerCase())).toBe(address);
    expect(toChecksumAddress(address.toUpperCase().replace('0X', '0x'))).toBe(address);
  });

  it.each(SPEC)('accepts the published address %s as given', (address) => {
    expect(checkChecksumAddress(address)).toEqual({ ok: true, address });
    expect(assertReceiveAddress(address)).toBe(address);
  });

  it.each(NORMAL)('refuses %s with one letter case flipped as a checksum mismatch', (address) => {
    expect(checkChecksumAddress(flipFirstLetter(address))).toMatchObject({ ok: false, code: 'address_checksum_mismatch' });
  });

  it.each(NORMAL)('refuses the all-lower and all-upper forms of %s as not checksummed', (address) => {
    expect(checkChecksumAddress(address.toLowerCase())).toMatchObject({ ok: false, code: 'address_not_checksummed' });
    expect(checkChecksumAddress(`0x${address.slice(2).toUpperCase()}`)).toMatchObject({ ok: false, code: 'address_not_checksummed' });
  });

  it('refuses an all-caps spec address given in lower case, and an all-lower one given in upper case', () => {
    expect(checkChecksumAddress(ALL_CAPS[0]!.toLowerCase())).toMatchObject({ ok: false, code: 'address_not_checksummed' });
    expect(checkChecksumAddress(`0x${ALL_LOWER[0]!.slice(2).toUpperCase()}`)).toMatchObject({ ok: false, code: 'address_not_checksummed' });
  });

  it.each([
    ['no prefix', '5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
    ['upper-case prefix', '0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
    ['39 digits', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe'],
    ['41 digits', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd'],
    ['non-hex digit', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg'],
    ['surrounding space', ' 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'],
    ['trailing newline', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n'],
    ['empty', ''],
  ])('refuses a malformed address (%s)', (_label, address) => {
    expect(checkChecksumAddress(address)).toMatchObject({ ok: false, code: 'address_malformed' });
  });

  it.each([null, undefined, 42, {}, ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed']])('refuses a non-string %j as malformed', (value) => {
    expect(checkChecksumAddress(value)).toMatchObject({ ok: false, code: 'address_malformed' });
  });

  it('toChecksumAddress throws a typed error on a malformed address', () => {
    expect(() => toChecksumAddress('0x1234')).toThrow(AddressError);
    try {
      toChecksumAddress('0x1234');
    } catch (error) {
      expect((error as AddressError).code).toBe('address_malformed');
    }
  });

  it('refuses the zero address as a receive address, though its checksum is trivially valid', () => {
    const zero = `0x${'0'.repeat(40)}`;
    expect(checkChecksumAddress(zero)).toEqual({ ok: true, address: zero });
    expect(checkReceiveAddress(zero)).toMatchObject({ ok: false, code: 'address_zero' });
    expect(() => assertReceiveAddress(zero)).toThrow(/zero address/);
  });

  it('assertReceiveAddress throws the refusal code', () => {
    const bad = flipFirstLetter(NORMAL[0]!);
    expect(() => assertReceiveAddress(bad)).toThrow(expect.objectContaining({ code: 'address_checksum_mismatch' }));
  });
});
