/**
 * The set-up and output shared by the commands that map an images .npy to another .npy (core, predict): the
 * same options, every file read and checked before a tensor exists, then the backend, the encoder, the
 * command's computation, the result written to --out and one line on stderr saying what it is.
 */
import { writeFileSync } from 'node:fs';
import type { NodeBackend } from '../backend/node';
import type { HostTensor } from '../io/host_tensor';
import { writeNpy } from '../io/npy';
import type { Encoder } from '../model/encoder';
import { type ParsedArgs, parseArgs } from './args';
import {
  buildEncoder,
  type ModelFiles,
  parseBackend,
  readImages,
  readModelFiles,
  readoutFromArgs,
  startBackend,
} from './load_model';

export interface ImagesRun {
  encoder: Encoder;
  /** (B, C, H, W), already normalized, checked against the model. */
  images: HostTensor<'float32'>;
  /** The readout --readout chose (default: the first); null for a command that needs only the core. */
  readout: string | null;
  batchSize: number;
  backend: NodeBackend;
  /** The command line, for a command's own options (`options` of runOnImages). */
  args: ParsedArgs;
  /** The model's files as read (checkpoint path, parsed config). */
  files: ModelFiles;
}

export interface ImagesResult {
  result: HostTensor<'float32'>;
  /** What the result is, for the line "v1x: wrote OUT: <description>". */
  description: string;
}

/**
 * Runs `compute` on the model and images the options name and writes its result to --out. Without `withReadout`
 * the model is built without readouts (--readout is still accepted, so core and predict take the same
 * arguments). The encoder is disposed whatever happens.
 */
export async function runOnImages(
  argv: string[],
  withReadout: boolean,
  compute: (run: ImagesRun) => Promise<ImagesResult>,
  options: string[] = [],
): Promise<void> {
  const args = parseArgs(argv, [
    'checkpoint',
    'config',
    'readout',
    'images',
    'out',
    'backend',
    'batch-size',
    ...options,
  ]);
  const out = args.require('out');
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 16);
  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const readout = withReadout ? readoutFromArgs(args, files) : null;
  const images = readImages(args.require('images'), files.architecture);
  await startBackend(backend);
  const encoder = buildEncoder(files, readout === null ? [] : [readout]);
  try {
    const { result, description } = await compute({
      encoder,
      images,
      readout,
      batchSize,
      backend,
      args,
      files,
    });
    writeFileSync(out, writeNpy(result));
    process.stderr.write(`v1x: wrote ${out}: ${description}\n`);
  } finally {
    encoder.dispose();
  }
}
