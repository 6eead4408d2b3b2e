/**
 * A scan picked as a folder in the browser: `<input type="file" webkitdirectory>` gives File objects whose
 * `webkitRelativePath` is 'static-x/data/images/0.npy'; folder drag-and-drop gives FileSystemFileEntry
 * objects whose `fullPath` the page turns into `{ file, path }` pairs. Only File (a Blob) is used, so this
 * also runs in a Web Worker; each file is read when the loader asks for it.
 */
import { InputError } from '../host_tensor';
import { findScanRoot, type ScanSource, scanNameFor } from './source';

/** A file with the path it had in the picked or dropped folder. */
export interface PathedFile {
  file: Blob & { name?: string };
  path: string;
}

function pathOf(f: File | PathedFile): PathedFile {
  if ('path' in f && typeof f.path === 'string' && 'file' in f) return { file: f.file, path: f.path };
  const file = f as File;
  const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
  return { file, path: rel && rel.length > 0 ? rel : file.name };
}

export function fileListScanSource(
  files: ArrayLike<File> | Iterable<File | PathedFile>,
  opts: { name?: string; root?: string } = {},
): ScanSource {
  const list = Array.from(files as ArrayLike<File | PathedFile>, pathOf);
  if (list.length === 0) throw new InputError(opts.name ?? 'dropped folder', 'no files');
  const byPath = new Map<string, Blob>();
  for (const { file, path } of list) byPath.set(path.replace(/^\/+/, ''), file);
  const paths = [...byPath.keys()];
  const origin = opts.name ?? (paths[0].split('/')[0] || 'picked folder');
  const root = findScanRoot(paths, origin, opts.root);
  const rel = new Map<string, Blob>();
  for (const [p, f] of byPath) if (p.startsWith(root) && p.length > root.length) rel.set(p.slice(root.length), f);
  return {
    name: scanNameFor(root, origin),
    origin,
    list: () => [...rel.keys()],
    read: async (path) => {
      const f = rel.get(path);
      if (!f) throw new InputError(`${origin}: ${root}${path}`, 'file not found');
      try {
        return new Uint8Array(await f.arrayBuffer());
      } catch (e) {
        throw new InputError(`${root}${path}`, `cannot read (${(e as Error).message})`);
      }
    },
    size: (path) => rel.get(path)?.size,
  };
}
