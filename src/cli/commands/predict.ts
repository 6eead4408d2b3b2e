/** v1x predict: eval-mode responses (B, neurons) for already-normalized images (B, C, H, W). */
import { writeFileSync } from 'node:fs';
import { writeNpy } from '../../io/npy';
import { parseArgs } from '../args';
import { buildEncoder, chooseReadout, parseBackend, readImages, readModelFiles, startBackend } from '../load_model';

export const summary = 'responses (B, neurons) for images (B, C, H, W): --checkpoint M.pth [--config C.json] [--readout KEY] --images X.npy --out Y.npy [--backend cpu|wasm]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['checkpoint', 'config', 'readout', 'images', 'out', 'backend', 'batch-size']);
  const out = args.require('out');
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 16);
  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const key = chooseReadout(files.architecture, args.get('readout'), files.checkpointPath);
  if (args.get('readout') === undefined && files.architecture.readouts.length > 1) {
    process.stderr.write(`v1x: using readout '${key}', the first of ${files.architecture.readouts.length} (choose with --readout)\n`);
  }
  const images = readImages(args.require('images'), files.architecture);
  await startBackend(backend);
  const encoder = buildEncoder(files, [key]);
  try {
    const y = await encoder.predict(images, { readout: key, batchSize });
    writeFileSync(out, writeNpy(y));
    process.stderr.write(`v1x: wrote ${out}: responses (${y.shape.join(', ')}) of readout '${key}' on ${backend}\n`);
  } finally {
    encoder.dispose();
  }
}
