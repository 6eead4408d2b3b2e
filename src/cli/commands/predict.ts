/** v1x predict: eval-mode responses (B, neurons) for already-normalized images (B, C, H, W). */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { NodeCorePool } from '../../train/worker/core_pool_node';
import { POOL_MIN_IMAGES, predictOnPool } from '../../train/worker/pool_predict';
import { UsageError } from '../args';
import { runOnImages } from '../images_command';

export const summary =
  'responses (B, neurons) for images (B, C, H, W): --checkpoint M.pth [--config C.json] [--readout KEY] --images X.npy --out Y.npy [--backend cpu|wasm] [--threads N]';

export async function run(argv: string[]): Promise<void> {
  await runOnImages(
    argv,
    true,
    async ({ encoder, images, readout, batchSize, backend, args, files }) => {
      const B = images.shape[0];
      // the core on worker threads (WASM): when --threads asks for more than one, or by default for a set large
      // enough to pay for starting them (POOL_MIN_IMAGES)
      const threads = args.number('threads', B >= POOL_MIN_IMAGES ? Math.min(4, availableParallelism()) : 1);
      if (!(threads >= 1) || !Number.isInteger(threads))
        throw new UsageError(`--threads must be a positive integer, got ${threads}`);
      let pool: NodeCorePool | null = null;
      if (threads > 1 && backend === 'wasm') {
        try {
          const [c, h, w] = encoder.architecture.core.inputShape;
          pool = await NodeCorePool.create(
            readFileSync(files.checkpointPath),
            files.checkpointPath,
            files.config.config,
            [c, h, w],
            threads,
          );
        } catch (e) {
          process.stderr.write(
            `v1x: could not start core worker threads (${e instanceof Error ? e.message : String(e)}); the core runs in this thread\n`,
          );
        }
      } else if (threads > 1)
        process.stderr.write(`v1x: --threads needs --backend wasm; the core runs in this thread\n`);
      try {
        const y = pool
          ? await predictOnPool(encoder, pool, images.data as Float32Array, { readout: readout! })
          : await encoder.predict(images, { readout: readout!, batchSize });
        const where = pool ? `, the core on ${pool.description}` : '';
        return {
          result: y,
          description: `responses (${y.shape.join(', ')}) of readout '${readout}' on ${backend}${where}`,
        };
      } finally {
        await pool?.close();
      }
    },
    ['threads'],
  );
}
