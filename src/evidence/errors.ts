/**
 * Failures of the evidence core. `code` is a stable snake_case string; the gateway maps it to its
 * own error type, the offline verifier prints it.
 */
export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** One failed check of a bundle or pack: where (file, row) and which check. */
export interface VerifyFailure {
  /** Path of the file inside the bundle (or the pack file's own name). */
  file: string;
  /** 1-based line number inside `file`, when the failure is about one row. */
  row?: number;
  /** Stable snake_case name of the check that failed. */
  check: string;
  message: string;
}

/** The outcome of verifying a bundle or a pack. */
export interface VerifyReport {
  ok: boolean;
  format: 'bundle' | 'pack';
  input: string;
  /** Every failure in the order found; the first is the one to show. Capped at maxFailures. */
  failures: VerifyFailure[];
  /** Checks that ran, by name, with how many items each covered. */
  checks: Record<string, number>;
  /** Whether the signing key was given by the caller (pinned) or only read from the input. */
  keyPinned: boolean;
  signingPublicKeyHex?: string;
  manifest?: { kind: string; tenantRealmId: string; jobId: string; generatedAt: string; disclosureTier: string };
  checkpoint?: { origin: string; treeSize: number; rootHashBase64: string; time?: string; verifierKey: string };
  artifacts?: Array<{ path: string; role: string; rows: number; sizeBytes: number }>;
  ledger?: { events: number; proofMode: string; previousCheckpoints: number };
}

export class FailureList {
  readonly items: VerifyFailure[] = [];
  readonly checks: Record<string, number> = {};
  constructor(readonly max = 100) {}

  add(failure: VerifyFailure | null | undefined): boolean {
    if (!failure) return false;
    if (this.items.length < this.max) this.items.push(failure);
    return true;
  }

  count(check: string, n = 1): void {
    this.checks[check] = (this.checks[check] ?? 0) + n;
  }

  get full(): boolean {
    return this.items.length >= this.max;
  }
}

/**
 * Splits a byte stream into lines (without the LF); a trailing unterminated line is reported by
 * end(). A line longer than `maxLine` bytes is cut off there (its tail is dropped) so a file
 * without newlines cannot make it buffer everything.
 */
export class LineSplitter {
  #rest: Buffer[] = [];
  #restLength = 0;
  #overlong = false;
  constructor(readonly maxLine = 64 * 1024 * 1024) {}

  /** Whether some line was longer than maxLine. */
  get overlong(): boolean {
    return this.#overlong;
  }

  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      if (this.#restLength > 0) {
        this.#take(chunk.subarray(start, nl));
        onLine(Buffer.concat(this.#rest, this.#restLength));
        this.#rest = [];
        this.#restLength = 0;
      } else {
        onLine(chunk.subarray(start, nl));
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.#take(Buffer.from(chunk.subarray(start)));
  }

  #take(part: Buffer): void {
    const room = this.maxLine - this.#restLength;
    if (part.length > room) this.#overlong = true;
    const kept = part.length > room ? part.subarray(0, Math.max(0, room)) : part;
    if (kept.length) {
      this.#rest.push(kept);
      this.#restLength += kept.length;
    }
  }

  /** Bytes after the last newline, if any (a file must end with a newline). */
  end(): Buffer | null {
    const rest = this.#restLength ? Buffer.concat(this.#rest, this.#restLength) : null;
    this.#rest = [];
    this.#restLength = 0;
    return rest;
  }
}
