/**
 * paybond-verify <bundle.zip | pack.jsonl> [--key <key>] [--json]
 *
 * Checks an evidence bundle or a verifier pack with no server, database or network.
 * Exit 0: every check holds. 1: a check failed (the first failure is named: file, row, check).
 * 2: the input cannot be read, or the command line is wrong.
 */
import { readHead, UnreadableInputError, verifyBundle } from '../src/evidence/bundle.ts';
import { parseVerifierKey } from '../src/evidence/checkpoint.ts';
import { EvidenceError, type VerifyFailure, type VerifyReport } from '../src/evidence/errors.ts';
import { verifyPack } from '../src/evidence/pack.ts';

const HELP = `Usage: paybond-verify <bundle.zip | pack.jsonl> [options]

Verifies a Paybond evidence bundle (compliance export or arbitration package, a ZIP)
or a ledger verifier pack (JSONL) offline: ZIP integrity, the signed manifest, every
artifact's SHA-256, size and row count, ledger hash-chain links, Merkle inclusion and
consistency proofs, and the signed checkpoint. Needs no server and no network.

Options:
  --key <key>   the gateway's public key, obtained independently: 64 hex digits, base64,
                or a verifier key (name+id+base64). Without it the key inside the input
                is used, which only shows who claims to have signed it.
  --json        print a machine-readable report on stdout
  -h, --help    this text

Exit status: 0 all checks hold; 1 a check failed (the first failure is named as
file, row and check); 2 the input cannot be read or the arguments are wrong.
The format is described in docs/evidence-format.md.
`;

class UsageError extends Error {}

function parseKey(text: string): Uint8Array {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return new Uint8Array(Buffer.from(value, 'hex'));
  if (/^[A-Za-z0-9+/]{43}=$/.test(value)) return new Uint8Array(Buffer.from(value, 'base64'));
  if (value.includes('+')) {
    try {
      return parseVerifierKey(value).publicKey;
    } catch (error) {
      throw new UsageError(`--key: ${(error as Error).message}`);
    }
  }
  throw new UsageError('--key must be 64 hex digits, base64 of 32 bytes, or a verifier key');
}

function parseArgs(argv: string[]): { input: string; json: boolean; publicKey?: Uint8Array } | 'help' {
  let input: string | undefined;
  let json = false;
  let publicKey: Uint8Array | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--json') json = true;
    else if (arg === '--key' || arg.startsWith('--key=')) {
      const value = arg === '--key' ? argv[++i] : arg.slice('--key='.length);
      if (!value) throw new UsageError('--key needs a value');
      publicKey = parseKey(value);
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg}`);
    else if (input === undefined) input = arg;
    else throw new UsageError('give exactly one bundle or pack');
  }
  if (input === undefined) throw new UsageError('give a bundle (.zip) or a verifier pack (.jsonl)');
  return { input, json, ...(publicKey ? { publicKey } : {}) };
}

export const describeFailure = (f: VerifyFailure): string => `${f.file}${f.row !== undefined ? ` row ${f.row}` : ''}: ${f.check} — ${f.message}`;

function summary(report: VerifyReport): string[] {
  const out: string[] = [];
  const key = report.signingPublicKeyHex ? `Ed25519 ${report.signingPublicKeyHex}` : 'an unknown key';
  out.push(`  signed by ${key}${report.keyPinned ? ' (pinned with --key)' : ' (read from the input: compare it with the gateway\'s published key, or pass --key)'}`);
  if (report.manifest) out.push(`  ${report.manifest.kind} ${report.manifest.jobId}, tenant ${report.manifest.tenantRealmId}, generated ${report.manifest.generatedAt}, tier ${report.manifest.disclosureTier}`);
  if (report.artifacts) out.push(`  ${report.artifacts.length} artifacts, ${report.artifacts.reduce((n, a) => n + a.rows, 0)} rows, digests, sizes and row counts as signed`);
  if (report.checkpoint) out.push(`  checkpoint ${report.checkpoint.origin}, tree size ${report.checkpoint.treeSize}, root ${report.checkpoint.rootHashBase64}${report.checkpoint.time ? `, ${report.checkpoint.time}` : ''}`);
  if (report.ledger) {
    const how = report.ledger.proofMode === 'full' ? 'form the whole tree with the checkpoint root' : 'each proven included in the checkpoint';
    out.push(`  ${report.ledger.events} ledger events: hash chain holds, ${how}; ${report.ledger.previousCheckpoints} previous checkpoint(s) consistent`);
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`paybond-verify: ${error.message}\n(see paybond-verify --help)\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  let report: VerifyReport;
  try {
    const head = await readHead(args.input, 4);
    const options = { ...(args.publicKey ? { publicKey: args.publicKey } : {}) };
    report = head[0] === 0x50 && head[1] === 0x4b ? await verifyBundle(args.input, options) : await verifyPack(args.input, options);
  } catch (error) {
    if (!(error instanceof UnreadableInputError)) throw error;
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: false, exit_code: 2, input: args.input, error: { code: error.code, message: error.message } }, null, 2)}\n`);
    else process.stderr.write(`paybond-verify: ${error.message}\n`);
    return 2;
  }
  const exitCode = report.ok ? 0 : 1;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ exit_code: exitCode, first_failure: report.failures[0] ?? null, ...report }, null, 2)}\n`);
    return exitCode;
  }
  if (report.ok) {
    process.stdout.write(`paybond-verify: OK ${args.input} (${report.format})\n${summary(report).join('\n')}\n`);
  } else {
    const [first, ...rest] = report.failures;
    process.stdout.write(`paybond-verify: FAIL ${args.input} (${report.format})\n  ${describeFailure(first!)}\n`);
    if (rest.length) process.stdout.write(`  (${rest.length} more failure${rest.length > 1 ? 's' : ''}; --json lists them all)\n`);
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A bug, not a user mistake: one line, and the stack only when asked for.
    const message = error instanceof EvidenceError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`paybond-verify: internal error: ${message}\n`);
    if (process.env.PAYBOND_VERIFY_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 2;
  },
);
