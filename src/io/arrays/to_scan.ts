/**
 * A plain-arrays scan loaded as any other: its FileTree files (scan/file_tree_writer.ts, what `v1x convert`
 * zips) are read by the FileTree loader from memory, so rescaling, normalization statistics, checks and
 * warnings are the loader's own and the page gets the Scan that loading the converted zip would give.
 */

import { type FileTreeScan, scanFiles } from '../scan/file_tree_writer';
import { loadScan } from '../scan/load_scan';
import { memoryScanSource } from '../scan/source';
import type { LoadScanOptions, Scan } from '../scan/types';

export async function loadArrayScan(data: FileTreeScan, opts: LoadScanOptions = {}, origin = data.name): Promise<Scan> {
  const files = new Map<string, Uint8Array>();
  for (const f of scanFiles(data)) if (!f.name.endsWith('/')) files.set(f.name, f.data);
  return loadScan(memoryScanSource(files, { name: origin }), opts);
}
