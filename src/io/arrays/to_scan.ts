/**
 * A plain-arrays scan loaded as any other: its FileTree files (scan/file_tree_writer.ts, what `v1x convert`
 * zips) are read by the FileTree loader, so rescaling, normalization statistics, checks and warnings are the
 * loader's own and the page gets the Scan that loading the converted zip would give. The files are made one at a
 * time as the loader asks (a trial's .npy from a view of the arrays), so loading holds the arrays and the Scan,
 * never a third copy as .npy bytes.
 */
import { InputError } from '../host_tensor';
import { type FileTreeScan, scanFileList } from '../scan/file_tree_writer';
import { loadScan } from '../scan/load_scan';
import type { ScanSource } from '../scan/source';
import type { LoadScanOptions, Scan } from '../scan/types';

export function arrayScanSource(data: FileTreeScan, origin = data.name): ScanSource {
  const root = `${data.name}/`;
  const files = new Map<string, () => Uint8Array>();
  for (const f of scanFileList(data))
    if (!f.name.endsWith('/') && f.name.startsWith(root)) files.set(f.name.slice(root.length), f.make);
  return {
    name: data.name,
    origin,
    list: () => [...files.keys()],
    read: async (path) => {
      const make = files.get(path);
      if (!make) throw new InputError(`${origin}: ${path}`, 'file not found');
      return make();
    },
  };
}

export async function loadArrayScan(data: FileTreeScan, opts: LoadScanOptions = {}, origin = data.name): Promise<Scan> {
  return loadScan(arrayScanSource(data, origin), opts);
}
