/** The evidence core: Merkle proofs, signed checkpoints, signed bundles and verifier packs. */
export * from './errors.ts';
export * from './merkle.ts';
export * from './checkpoint.ts';
export * from './ledger-format.ts';
export * from './manifest.ts';
export * from './bundle.ts';
export * from './pack.ts';
