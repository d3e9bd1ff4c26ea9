/**
 * bincode 2 "standard" wire encoding, as the Paybond SDK signs intent and evidence bytes:
 * varint lengths (≤250 one byte; 0xFB u16, 0xFC u32, 0xFD u64, little-endian), zigzag i64,
 * length-prefixed UTF-8 strings, UUIDs as 16 raw bytes behind a 0x10 length, fixed 32-byte arrays.
 */
export class BincodeWriter {
  private readonly parts: Uint8Array[] = [];

  u8(value: number): this {
    this.parts.push(Uint8Array.of(value));
    return this;
  }

  varint(value: bigint | number): this {
    const v = BigInt(value);
    if (v < 0n) throw new RangeError('varint must be unsigned');
    if (v <= 250n) return this.u8(Number(v));
    const width = v <= 0xffffn ? 2 : v <= 0xffffffffn ? 4 : 8;
    const out = new Uint8Array(1 + width);
    out[0] = width === 2 ? 0xfb : width === 4 ? 0xfc : 0xfd;
    for (let i = 0; i < width; i++) out[1 + i] = Number((v >> BigInt(8 * i)) & 0xffn);
    this.parts.push(out);
    return this;
  }

  i64(value: bigint | number): this {
    const v = BigInt(value);
    return this.varint(v >= 0n ? v * 2n : -v * 2n - 1n);
  }

  str(value: string): this {
    const bytes = new TextEncoder().encode(value);
    return this.varint(bytes.length).raw(bytes);
  }

  uuid(value: string): this {
    const hex = value.replace(/-/g, '');
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError('not a UUID');
    return this.varint(16).raw(Buffer.from(hex, 'hex'));
  }

  bytes32(value: Uint8Array): this {
    if (value.length !== 32) throw new RangeError('expected 32 bytes');
    return this.raw(value);
  }

  raw(value: Uint8Array): this {
    this.parts.push(value);
    return this;
  }

  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}
