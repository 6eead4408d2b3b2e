/**
 * Files from a drop, folders included: a dropped folder is walked (FileSystemDirectoryEntry) and each file
 * keeps its path relative to the drop ('static-x/data/images/0.npy'), as the scan loader needs.
 */
import type { PathedFile } from '../../io/scan';

/** Stops a hostile or accidental drop of a huge tree from walking forever. */
const MAX_FILES = 200_000;

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call; keep calling until it returns none.
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(out);
        out.push(...batch);
        next();
      }, reject);
    next();
  });
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: PathedFile[]): Promise<void> {
  if (out.length > MAX_FILES) throw new Error(`the dropped folder holds more than ${MAX_FILES} files`);
  if (entry.isFile) {
    out.push({ file: await fileOf(entry as FileSystemFileEntry), path: entry.fullPath.replace(/^\/+/, '') });
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walk(child, out);
  }
}

/** Plain files when no folder was dropped; otherwise every file with its relative path. */
export async function filesFromDrop(dt: DataTransfer): Promise<Array<File | PathedFile>> {
  const entries = Array.from(dt.items, (item) => item.webkitGetAsEntry?.() ?? null);
  if (!entries.some((e) => e?.isDirectory)) return Array.from(dt.files);
  const out: PathedFile[] = [];
  for (const e of entries) if (e) await walk(e, out);
  return out;
}
