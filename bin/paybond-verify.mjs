#!/usr/bin/env node
// `npx paybond-verify` from the repository root runs this file (npm exec finds the root package's
// own bin). The CLI is TypeScript (scripts/paybond-verify.ts): this launcher bundles it with
// esbuild (a dependency) into node_modules/.cache when the bundle is missing or older than its
// sources (~0.1 s, once), then runs the bundle. Starting through tsx works too but costs ~0.7 s
// on every run, which matters when checking a pack in a few seconds; it is the fallback.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'scripts/paybond-verify.ts');
const bundle = path.join(root, 'node_modules/.cache/paybond-verify/paybond-verify.mjs');

function newestSource() {
  let newest = fs.statSync(entry).mtimeMs;
  for (const dir of ['src/evidence', 'src/crypto']) {
    for (const name of fs.readdirSync(path.join(root, dir))) newest = Math.max(newest, fs.statSync(path.join(root, dir, name)).mtimeMs);
  }
  return newest;
}

async function bundled() {
  try {
    if (fs.existsSync(bundle) && fs.statSync(bundle).mtimeMs >= newestSource()) return bundle;
    const { buildSync } = await import('esbuild');
    const tmp = `${bundle}.${process.pid}.tmp`;
    buildSync({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    });
    fs.renameSync(tmp, bundle);
    return bundle;
  } catch {
    return null; // read-only checkout, no esbuild: run the sources through tsx instead
  }
}

const file = await bundled();
if (file) {
  await import(pathToFileURL(file).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
}
