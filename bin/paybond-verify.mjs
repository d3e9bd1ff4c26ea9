#!/usr/bin/env node
// `npx paybond-verify` from the repository root runs this file (npm exec finds the root package's
// own bin). It registers tsx, already a dependency, so the TypeScript CLI runs right after
// `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/paybond-verify.ts');
