/**
 * Reads the arrays of a plain-arrays scan: .npy files (parsed by npy.ts) and .npz archives (a zip of .npy files,
 * as numpy.savez / savez_compressed write them, opened by zip_archive.ts: entries inflated one at a time, each
 * size checked before inflating). Bytes are hostile: both parsers bound sizes and validate headers, an .npz holds
 * at most MAX_NPZ_MEMBERS arrays, and object arrays (pickles) are refused.
 */
import { InputError } from '../host_tensor';
import { parseNpy } from '../npy';
import { looksLikeZip, ZipArchive } from '../zip_archive';
import type { NamedArray } from './types';

/** More arrays than a scan could use: an .npz with more is refused rather than inflated. */
export const MAX_NPZ_MEMBERS = 64;

/** A file as the page (File) or the CLI (its bytes) gives it. */
export interface ArrayFile {
  name: string;
  data: Blob | Uint8Array;
}

export function isArrayFileName(name: string): boolean {
  return /\.(npy|npz)$/i.test(name);
}

async function bytesOf(f: ArrayFile): Promise<Uint8Array> {
  if (f.data instanceof Uint8Array) return f.data;
  try {
    return new Uint8Array(await f.data.arrayBuffer());
  } catch (e) {
    throw new InputError(f.name, `cannot read (${(e as Error).message})`);
  }
}

/** The arrays of one .npz, named '<file>/<member without .npy>'. */
export async function readNpz(f: ArrayFile): Promise<NamedArray[]> {
  const head =
    f.data instanceof Uint8Array ? f.data.subarray(0, 4) : new Uint8Array(await f.data.slice(0, 4).arrayBuffer());
  if (!looksLikeZip(head)) throw new InputError(f.name, 'not an .npz archive (an .npz is a zip of .npy files)');
  const zip = await ZipArchive.open(f.data, f.name);
  try {
    const members = zip.names();
    const stray = members.filter((m) => !/\.npy$/i.test(m));
    if (stray.length) throw new InputError(f.name, `holds '${stray[0]}', which is not an .npy array`);
    if (members.length === 0) throw new InputError(f.name, 'holds no arrays');
    if (members.length > MAX_NPZ_MEMBERS)
      throw new InputError(f.name, `holds ${members.length} arrays; a scan needs at most 8 (limit ${MAX_NPZ_MEMBERS})`);
    const out: NamedArray[] = [];
    for (const m of members) {
      const name = `${f.name}/${m.replace(/\.npy$/i, '')}`;
      out.push({ name, array: parseNpy(await zip.read(m), name) });
    }
    return out;
  } finally {
    await zip.close();
  }
}

/** Every array of the given .npy and .npz files, in the order given; names must be unique. */
export async function readArrayFiles(files: ArrayFile[]): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const f of files) {
    if (/\.npz$/i.test(f.name)) out.push(...(await readNpz(f)));
    else if (/\.npy$/i.test(f.name)) out.push({ name: f.name, array: parseNpy(await bytesOf(f), f.name) });
    else throw new InputError(f.name, 'not an array file: expected .npy or .npz');
  }
  const seen = new Set<string>();
  for (const a of out) {
    if (seen.has(a.name)) throw new InputError(a.name, 'given twice; give each array once');
    seen.add(a.name);
  }
  return out;
}
