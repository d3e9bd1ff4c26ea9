import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed, verifyEd25519 } from '../../src/crypto/ed25519.ts';
import { evidenceSignBytes, intentSignBytesV6, intentSignBytesV7, recognitionCanonical, type RecognitionProof } from '../../src/areas/harbor/wire.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fill = (byte: number) => new Uint8Array(32).fill(byte);

// Golden inputs and bytes published by the Paybond SDK (tests/principal-intent.test.ts) and
// vectors cross-checked against its signing functions.
const golden = {
  intentId: '7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401',
  principalDid: 'did:principal:1',
  payeeDid: 'did:payee:1',
  amountCents: 100,
  currency: 'usd',
  deadline: '2030-01-02T15:04:05Z',
  budget: { max: 100, a: 1 },
  evidenceSchema: { type: 'object' },
  predicate: { version: 1, root: { op: 'true' } },
  predicateRef: '',
  allowedTools: ['Harbor.Evidence_Submit', 'harbor.describe'],
  settlementRail: 'stripe_connect',
};
const V6_BYTES =
  '060d74656e616e742d676f6c64656e107f2a9b1e2f664f4f9c6e8f4b8e85c4010f6469643a7072696e636970616c3a310b6469643a70617965653a31c80375736414323033302d30312d30325431353a30343a30355afe9931de397b3817d06aeeb9877163cea9964adc4609fd0f1d715542a7f9c65769b254eacefe89c7b9b29305b06ec5983871a03cc20db0b4747905ecdddd7f29c366a1c38aad99370b12e7197e0fe5590e2d20763c9b4550a738313f484757e5006ba1f5bfb6266e05ed626dd8a1a318e8f9a38272186eb855bf717cede2c5b1040e7374726970655f636f6e6e6563744242424242424242424242424242424242424242424242424242424242424242';

describe('SDK wire formats', () => {
  it('builds the v6 create-intent sign bytes of the SDK golden', () => {
    expect(hex(intentSignBytesV6('tenant-golden', { ...golden, payeePubkey: fill(0x42) }))).toBe(V6_BYTES);
  });

  it('builds the v7 (policy-bound) sign bytes of the SDK golden', () => {
    const bytes = intentSignBytesV7('tenant-golden', { ...golden, payeePubkey: fill(0x42) }, { templateId: 'completion_v1', versionSeq: 3, contentDigest: fill(0xab) });
    expect(hex(bytes)).toBe(
      `07${V6_BYTES.slice(2, -64)}0d636f6d706c6574696f6e5f763103${'ab'.repeat(32)}${'42'.repeat(32)}`,
    );
  });

  it('verifies the SDK-signed create body (principal seed 0x11…, payee seed 0x22…)', () => {
    const principalPub = Buffer.from('0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=', 'base64');
    const payeePub = Buffer.from('oJql9HpnWYAv+VX43C0qFKXJnSO+l/hkEn/5ODRVpPA=', 'base64');
    expect(hex(principalPub)).toBe(hex(ed.getPublicKey(fill(0x11))));
    const signature = Buffer.from('NcUqFsuy7oSM8YTuumYV+HJLfujVNIf1LEuSmLeoao47uCOpecDdASbZ6ZWMXa5rFIQGx4M/nrqQW4qAteP1BA==', 'base64');
    const bytes = intentSignBytesV6('tenant-golden', { ...golden, payeePubkey: payeePub });
    expect(verifyEd25519(principalPub, bytes, signature)).toBe(true);
    expect(verifyEd25519(principalPub, intentSignBytesV6('other-tenant', { ...golden, payeePubkey: payeePub }), signature)).toBe(false);
  });

  it('builds the evidence sign bytes of the SDK vector', () => {
    const bytes = evidenceSignBytes('tenant-golden', {
      intentId: golden.intentId,
      payeeDid: 'did:payee:1',
      payload: { status: 'completed', cost_cents: 100 },
      artifacts: [],
      submittedAt: '2030-01-02T00:00:00Z',
    });
    expect(hex(bytes)).toBe(
      '020d74656e616e742d676f6c64656e107f2a9b1e2f664f4f9c6e8f4b8e85c4010b6469643a70617965653a314e3c7197182858d4b7fe6df0259e336aab69a69190012f902d41a5b38dc86932af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f326214323033302d30312d30325430303a30303a30305a',
    );
    const signature = Buffer.from('6oDl2Ljypu89Q+/BK7P5xSZawb3VnSY7VMLNOXu5WOs+ksbAqL+f9fs2HmiHPuAWzIyY1oVGPsxhmRLMryfFBw==', 'base64');
    expect(verifyEd25519(ed.getPublicKey(fill(0x22)), bytes, signature)).toBe(true);
  });

  it('rebuilds the canonical recognition proof of the SDK vector and verifies its signature', () => {
    const header =
      'eyJzY2hlbWFfdmVyc2lvbiI6MSwia2luZCI6InBheWJvbmQuYWdlbnRfcmVjb2duaXRpb25fcHJvb2ZfdjEiLCJrZXlfaWQiOiJraWQtMSIsInNpZ25hdHVyZV9hbGdvcml0aG0iOiJlZDI1NTE5LXNoYTI1Ni1qc29uLXYxIiwiaXNzdWVkX2F0IjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJleHBpcmVzX2F0IjoiMjAzMC0wMS0wMVQwMDowNDowMFoiLCJub25jZSI6Im5vbmNlLXZlY3Rvci0xIiwicHVycG9zZSI6ImhhcmJvci5pbnRlbnQuY3JlYXRlIiwidmVyaWZpZXJfY29udGV4dCI6eyJ0ZW5hbnRfaWQiOiJ0ZW5hbnQtZ29sZGVuIiwidmVyaWZpZXJfaWQiOiJwYXlib25kLWdhdGV3YXkifSwicmVxdWVzdF9lbnZlbG9wZSI6eyJtZXRob2QiOiJQT1NUIiwicGF0aCI6Ii9oYXJib3IvaW50ZW50cyIsImJvZHlfZGlnZXN0X3NoYTI1Nl9oZXgiOiIwZDFiYTY1YjRjZjMzYWFlOThmNTc1YTc4YmIxMjBjYmU5OWFjN2M2NWUyZjNjODQ2NDJhODk1ZjAxYmYzNjhlIn0sIm1lc3NhZ2VfZGlnZXN0X3NoYTI1Nl9oZXgiOiIzMTYzNGRlNGY2ZDgwN2Y2MDY5M2QwYjcwNTEyMGVlYWIwZDEwODVjY2E5OWI2ODJlNDUxMTJkYmFmMWVkMGQ5Iiwic2lnbmluZ19wdWJsaWNfa2V5X2VkMjU1MTlfaGV4IjoiODEzOTc3MGVhODdkMTc1ZjU2YTM1NDY2YzM0YzdlY2NjYjhkOGE5MWI0ZWUzN2EyNWRmNjBmNWI4ZmM5YjM5NCIsImVkMjU1MTlfc2lnbmF0dXJlX2hleCI6IjM1NzY0ZDFlMTVlMTU3NzkyOGEzYTQ2MzNmZTA5OGYxNWE0NTdhMzg5OTZhNmRiNGE3YTZiZWU5NTc5MjdkYWZjYWYxMWEwY2I3OWEzMGRlNGQ1ODQxMzJiMzFjZTM4MDBlOGI3MTYwNDA3ZThjMGM1OTY1MzVmYTU2NmRiZjAzIn0';
    const proof = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as RecognitionProof;
    const digest = createHash('sha256').update(recognitionCanonical(proof)).digest();
    expect(digest.toString('hex')).toBe('31634de4f6d807f60693d0b705120eeab0d1085cca99b682e45112dbaf1ed0d9');
    expect(proof.signing_public_key_ed25519_hex).toBe(hex(ed.getPublicKey(new Uint8Array(32).fill(2))));
    expect(verifyEd25519(Buffer.from(proof.signing_public_key_ed25519_hex, 'hex'), digest, Buffer.from(proof.ed25519_signature_hex, 'hex'))).toBe(true);
  });
});
