/**
 * Loading a scan off the page's thread: what the scan worker (scan_worker.ts) does with each message. Reading a
 * zip or a folder, parsing thousands of .npy files, checking plain arrays and computing their statistics took the
 * page's thread for seconds on a Lurz 2020-sized scan (frames stalled 1-12 s); here only messages reach it. The
 * finished Scan is posted back with its large arrays transferred, not copied.
 *
 * Plain arrays take two messages: 'open' reads them and answers 'arrays' (what the mapping dialog shows; the
 * arrays stay here), then 'map' builds and loads the scan with the user's mapping. A worker serves one selection.
 */
import type { ArrayInfo, ArrayMapping, NamedArray, SplitOptions } from '../../io/arrays';
import type { PathedFile, Scan } from '../../io/scan';
import {
  arrayInfos,
  isArraysSelection,
  loadArraysAsScan,
  loadScanFrom,
  openScanFiles,
  readSelectedArrays,
  type ScanProgress,
} from './scan_service';

export type ScanToWorker =
  | { type: 'open'; files: Array<File | PathedFile>; modelInput: number[] | null }
  | { type: 'map'; mapping: ArrayMapping; split: SplitOptions; name: string; modelInput: number[] | null };

export type ScanFromWorker =
  | { type: 'progress'; progress: ScanProgress }
  | { type: 'arrays'; arrays: ArrayInfo[] }
  | { type: 'scan'; scan: Scan }
  | { type: 'error'; message: string };

/** The buffers of a Scan worth transferring (each its own; the loader allocates them). */
export function scanTransferables(scan: Scan): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of [scan.images, scan.responses, scan.behavior, scan.pupilCenter])
    if (a && a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}

/** The worker's message handler; `post` sends a reply (with buffers to transfer). */
export function scanJob(post: (m: ScanFromWorker, transfer?: ArrayBuffer[]) => void) {
  let arrays: NamedArray[] | null = null;
  let last = 0;
  const progress = (p: ScanProgress) => {
    // at most ~10 messages a second
    const now = performance.now();
    if (now - last > 100 || p.done === p.total) {
      last = now;
      post({ type: 'progress', progress: p });
    }
  };
  const done = (scan: Scan) => post({ type: 'scan', scan }, scanTransferables(scan));
  return async (m: ScanToWorker): Promise<void> => {
    try {
      if (m.type === 'open') {
        if (isArraysSelection(m.files)) {
          post({ type: 'progress', progress: { done: 0, total: 0, what: 'reading arrays' } });
          arrays = await readSelectedArrays(m.files);
          post({ type: 'arrays', arrays: arrayInfos(arrays) });
          return;
        }
        done(await loadScanFrom(await openScanFiles(m.files), m.modelInput, progress));
      } else {
        if (!arrays) throw new Error('no arrays were read');
        const { scan } = await loadArraysAsScan(arrays, m.mapping, m.split, m.name, m.modelInput, progress);
        arrays = null;
        done(scan);
      }
    } catch (err) {
      post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  };
}
