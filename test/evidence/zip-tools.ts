import fs from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import yazl from 'yazl';

/** Every entry of a ZIP, in order, uncompressed. */
export async function readZip(file: string): Promise<Array<{ name: string; data: Buffer }>> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  const out: Array<{ name: string; data: Buffer }> = [];
  for await (const entry of zip.eachEntry()) {
    const chunks: Buffer[] = [];
    for await (const c of (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) chunks.push(c);
    out.push({ name: entry.fileName, data: Buffer.concat(chunks) });
  }
  zip.close();
  return out;
}

/** A well-formed ZIP with the given entries (what a tamperer who re-zips would produce). */
export async function writeZip(file: string, entries: Array<{ name: string; data: Buffer }>, options: { zip64?: boolean; streamed?: boolean } = {}): Promise<void> {
  const zip = new yazl.ZipFile();
  const entryOptions = { mtime: new Date('2026-12-01T12:00:00Z'), forceZip64Format: !!options.zip64 };
  for (const e of entries) {
    if (options.streamed) zip.addReadStream(Readable.from([e.data]), e.name, entryOptions);
    else zip.addBuffer(e.data, e.name, entryOptions);
  }
  zip.end({ forceZip64Format: !!options.zip64, comment: '' });
  await new Promise<void>((resolve, reject) => {
    const out = fs.createWriteStream(file);
    zip.outputStream.pipe(out).on('close', () => resolve()).on('error', reject);
  });
}

/** Copy a ZIP, replacing entries through `edit` (return null to drop an entry). */
export async function repackZip(src: string, dst: string, edit: (name: string, data: Buffer) => Buffer | null, extra: Array<{ name: string; data: Buffer }> = []): Promise<void> {
  const entries = (await readZip(src)).flatMap((e) => {
    const data = edit(e.name, e.data);
    return data ? [{ name: e.name, data }] : [];
  });
  await writeZip(dst, [...entries, ...extra]);
}

/** Where an entry's compressed data lies in the file. */
export async function entryDataRange(file: string, name: string): Promise<{ start: number; length: number }> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== name) continue;
      const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
      return { start: fileDataStart, length: entry.compressedSize };
    }
  } finally {
    zip.close();
  }
  throw new Error(`no entry ${name}`);
}

export function flipByte(file: string, dst: string, offset: number): void {
  const bytes = fs.readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0x20;
  fs.writeFileSync(dst, bytes);
}

export const streamOf = (rows: unknown[]) => Readable.from(rows);
