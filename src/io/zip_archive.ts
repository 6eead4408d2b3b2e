/**
 * Random-access zip reading (and writing) over @zip.js/zip.js. Only the central directory is read up
 * front; each entry is inflated on demand, so a Sensorium zip of hundreds of MB is never held whole.
 * Works on a Blob (browser File, Node `fs.openAsBlob`) or an in-memory Uint8Array. Given ReadStats, the archive is
 * read through byte_source.ts's counting reader: bytes fetched from the source and bytes inflated per entry.
 */
import {
  BlobReader,
  configure,
  type Entry,
  Uint8ArrayReader,
  Uint8ArrayWriter,
  ZipReader,
  ZipWriter,
} from '@zip.js/zip.js';
import { ByteSourceZipReader, byteSource, countPart, type ReadStats } from './byte_source';
import { InputError } from './host_tensor';

// Inflate on the calling thread: workers are ours to manage (training runs in one already), and zip.js
// would otherwise try to spawn its own from a URL.
configure({ useWebWorkers: false });

/** Largest single entry we inflate (bytes): guards against zip bombs and absurd claims. */
export const MAX_ENTRY_BYTES = 1 << 30;

export interface ZipEntryInfo {
  name: string;
  size: number;
  compressedSize: number;
}

export class ZipArchive {
  private constructor(
    readonly file: string,
    private readonly reader: ZipReader<unknown>,
    private readonly entries: Map<string, Entry>,
    private readonly stats?: ReadStats,
  ) {}

  /** Opens a zip; `file` names it in errors; `stats` (optional) counts what is read. */
  static async open(source: Blob | Uint8Array, file: string, stats?: ReadStats): Promise<ZipArchive> {
    const reader = new ZipReader(
      stats
        ? new ByteSourceZipReader(byteSource(source, file, stats))
        : source instanceof Uint8Array
          ? new Uint8ArrayReader(source)
          : new BlobReader(source),
    );
    let list: Entry[];
    try {
      list = await reader.getEntries();
    } catch (e) {
      throw new InputError(file, `not a readable zip archive (${(e as Error).message})`);
    }
    const map = new Map<string, Entry>();
    for (const e of list) if (!e.directory) map.set(e.filename, e);
    return new ZipArchive(file, reader as ZipReader<unknown>, map, stats);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): ZipEntryInfo | undefined {
    const e = this.entries.get(name);
    return e && { name, size: e.uncompressedSize, compressedSize: e.compressedSize };
  }

  /** Inflates one entry, checking its size claim; errors name the archive and the entry. */
  async read(name: string, maxBytes = MAX_ENTRY_BYTES): Promise<Uint8Array> {
    const e = this.entries.get(name);
    if (!e || e.directory) throw new InputError(this.file, `missing entry '${name}'`);
    if (e.uncompressedSize > maxBytes)
      throw new InputError(this.file, `entry '${name}' claims ${e.uncompressedSize} bytes (limit ${maxBytes})`);
    let bytes: Uint8Array;
    try {
      bytes = await (e as Entry & { getData(w: Uint8ArrayWriter): Promise<Uint8Array> }).getData(
        new Uint8ArrayWriter(),
      );
    } catch (err) {
      throw new InputError(this.file, `entry '${name}' is corrupt (${(err as Error).message})`);
    }
    if (bytes.length !== e.uncompressedSize)
      throw new InputError(
        this.file,
        `entry '${name}' inflated to ${bytes.length} bytes, header says ${e.uncompressedSize}`,
      );
    countPart(this.stats, name, bytes.length);
    return bytes;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** True when the bytes start like a zip local file header (PK\x03\x04) or an empty archive (PK\x05\x06). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))
  );
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
}

/**
 * Writes a zip. `store` keeps entries uncompressed and 64-byte aligned as PyTorch expects for its
 * checkpoints (torch reads storages in place); otherwise entries are deflated.
 */
export async function writeZip(files: ZipInput[], opts: { store?: boolean } = {}): Promise<Uint8Array> {
  const writer = new Uint8ArrayWriter();
  const zip = new ZipWriter(writer, { level: opts.store ? 0 : 6, useWebWorkers: false });
  for (const f of files) await zip.add(f.name, new Uint8ArrayReader(f.data), { level: opts.store ? 0 : 6 });
  return zip.close();
}
