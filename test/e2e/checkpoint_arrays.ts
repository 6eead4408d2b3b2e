/**
 * For the factorized-readout browser test: a checkpoint's entries under a key prefix as JSON on stdout
 * ({ key: { shape, data } }, float32 values as numbers), read with the project's checkpoint reader in Node, so the
 * test can compute what the page should show (masks, barcodes) on its own. Run with tsx:
 *   node --import tsx test/e2e/checkpoint_arrays.ts M.pth PREFIX
 */
import { readFileSync } from 'node:fs';
import { readCheckpoint } from '../../src/io/torch_checkpoint';

const [path, prefix = ''] = process.argv.slice(2);
const sd = await readCheckpoint(new Uint8Array(readFileSync(path)), path);
const out: Record<string, { shape: number[]; data: number[] }> = {};
for (const [key, t] of sd) {
  if (key.startsWith(prefix)) out[key] = { shape: [...t.shape], data: Array.from(t.data as ArrayLike<number>, Number) };
}
process.stdout.write(JSON.stringify(out));
