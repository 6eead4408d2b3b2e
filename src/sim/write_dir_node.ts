/** Node only: writes a list of {name, data} files (as for a zip) into a folder; names ending in '/' are folders. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { ZipInput } from '../io/zip_archive';

export function writeFilesToDir(dir: string, files: ZipInput[]): void {
  const base = resolve(dir);
  for (const f of files) {
    const target = resolve(join(base, f.name));
    if (target !== base && !target.startsWith(base + sep))
      throw new Error(`refusing to write '${f.name}' outside ${dir}`);
    if (f.name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.data);
  }
}
