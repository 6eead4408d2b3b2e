/** v1x core: the core's output (B, C', H', W') for already-normalized images (B, C, H, W), eval mode. */
import { writeFileSync } from 'node:fs';
import { writeNpy } from '../../io/npy';
import { parseArgs } from '../args';
import { buildEncoder, parseBackend, readImages, readModelFiles, startBackend } from '../load_model';

export const summary = 'core output (B, C, H, W) for images (B, C, H, W): --checkpoint M.pth [--config C.json] --images X.npy --out Y.npy [--backend cpu|wasm]';

export async function run(argv: string[]): Promise<void> {
  // --readout is accepted (same arguments as predict) but the core does not depend on it.
  const args = parseArgs(argv, ['checkpoint', 'config', 'readout', 'images', 'out', 'backend', 'batch-size']);
  const out = args.require('out');
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 16);
  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const images = readImages(args.require('images'), files.architecture);
  await startBackend(backend);
  const encoder = buildEncoder(files, []);
  try {
    const y = await encoder.coreOutput(images, { batchSize });
    writeFileSync(out, writeNpy(y));
    process.stderr.write(`v1x: wrote ${out}: core output (${y.shape.join(', ')}) on ${backend}\n`);
  } finally {
    encoder.dispose();
  }
}
