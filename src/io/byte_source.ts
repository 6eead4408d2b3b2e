/**
 * Random access to a file's bytes without holding it: a Blob (a browser File, Node's `fs.openAsBlob`) is read one
 * byte range at a time, an in-memory Uint8Array by views into it. Every read can be counted (ReadStats), so that
 * a reader of a large file (a 528 MB torchvision checkpoint of which a few MB are needed) can show what it touched.
 */
import { Reader } from '@zip.js/zip.js';
import { InputError } from './host_tensor';

/** What was read from a source: bytes fetched from it, and bytes produced per named part (a zip entry, a storage). */
export interface ReadStats {
  /** Bytes fetched from the source (headers, directories and part data, compressed or not). */
  sourceBytes: number;
  /** Number of fetches from the source. */
  sourceReads: number;
  /** Bytes produced per part name (a zip entry's name after inflating; a legacy checkpoint's storage). */
  parts: Map<string, number>;
}

export function newReadStats(): ReadStats {
  return { sourceBytes: 0, sourceReads: 0, parts: new Map() };
}

export function countPart(stats: ReadStats | undefined, name: string, bytes: number): void {
  if (stats) stats.parts.set(name, (stats.parts.get(name) ?? 0) + bytes);
}

export interface ByteSource {
  readonly size: number;
  /** The bytes are in memory already (a read is a view): no reason to read little at a time. */
  readonly inMemory: boolean;
  /** Bytes [offset, offset + length) clipped to the end; an InputError naming `file` when unreadable. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** `source` as a ByteSource counting its reads into `stats`. */
export function byteSource(source: Blob | Uint8Array, file: string, stats?: ReadStats): ByteSource {
  const size = source instanceof Uint8Array ? source.length : source.size;
  return {
    size,
    inMemory: source instanceof Uint8Array,
    async read(offset, length) {
      const start = Math.max(0, Math.min(offset, size));
      const end = Math.max(start, Math.min(offset + length, size));
      let out: Uint8Array;
      if (source instanceof Uint8Array) out = source.subarray(start, end);
      else {
        try {
          out = new Uint8Array(await source.slice(start, end).arrayBuffer());
        } catch (e) {
          throw new InputError(file, `could not read bytes ${start}..${end} (${(e as Error).message})`);
        }
      }
      if (stats) {
        stats.sourceBytes += out.length;
        stats.sourceReads++;
      }
      return out;
    },
  };
}

/** A zip.js Reader over a ByteSource, so the zip's directory and entries are read by range and counted. */
export class ByteSourceZipReader extends Reader<ByteSource> {
  constructor(private readonly src: ByteSource) {
    super(src);
    this.size = src.size;
  }

  override async init(): Promise<void> {
    this.size = this.src.size;
  }

  override readUint8Array(index: number, length: number): Promise<Uint8Array> {
    return this.src.read(index, length);
  }
}
