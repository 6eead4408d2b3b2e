/**
 * Core-only timing (the frozen core's fast forward on tfjs-wasm, one thread): images/s at batch 64 on the
 * fixture checkpoint (best and median batch), and the GFLOP/s that is (2 flops per multiply-add of the convolutions). With --profile,
 * the time per kind of convolution (tf.profile). On a shared machine use small batches and many of them (the best
 * batch is the one least disturbed). Usage: node --import tsx bench/core_speed.ts [--batch 64] [--batches N] [--profile]
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import type { CoreArchitecture } from '../src/model/architecture';
import { loadCoreFromFiles } from '../src/train/frozen_core_files';
import { SOTA } from '../test/fixtures/paths';

const argv = process.argv.slice(2);
const nb = argv.indexOf('--batches');
const batches = nb >= 0 ? Number(argv[nb + 1]) : 10;

/** Multiply-adds of the core's convolutions for one image (input size from the architecture). */
export function coreMultiplyAdds(core: CoreArchitecture): number {
  let total = 0;
  let h = core.inputShape[1],
    w = core.inputShape[2];
  for (const layer of core.layers) {
    for (const c of layer.convs) {
      const oh = Math.floor((h + 2 * c.padding[0] - c.dilation * (c.kernel[0] - 1) - 1) / c.stride) + 1;
      const ow = Math.floor((w + 2 * c.padding[1] - c.dilation * (c.kernel[1] - 1) - 1) / c.stride) + 1;
      total += oh * ow * c.outChannels * (c.inChannels / c.groups) * c.kernel[0] * c.kernel[1];
      h = oh;
      w = ow;
    }
  }
  return total;
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  await initNodeBackend('wasm');
  const loaded = await loadCoreFromFiles(join(SOTA, 'model.pth'), join(SOTA, 'config.json'));
  const [c, h, w] = loaded.encoder.architecture.core.inputShape;
  const nbat = argv.indexOf('--batch');
  const B = nbat >= 0 ? Number(argv[nbat + 1]) : 64;
  const x = tf.randomNormal([B, c, h, w]) as tf.Tensor4D;
  for (let i = 0; i < 2; i++)
    tf.tidy(() => {
      loaded.core(x).dataSync();
    });
  if (argv.includes('--profile')) {
    // per kernel (name and filter shape) the least time over the profiled batches: the machine may be shared
    const best = new Map<string, number>();
    for (let r = 0; r < batches; r++) {
      const prof = await tf.profile(() => {
        tf.tidy(() => {
          loaded.core(x).dataSync();
        });
      });
      const byKernel = new Map<string, number>();
      for (const k of prof.kernels) {
        if (k.name.endsWith('__op')) continue; // the op wrapping a kernel: counted in the kernel
        const t = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        const key = `${k.name} ${JSON.stringify(k.inputShapes[1] ?? k.inputShapes[0])}`;
        byKernel.set(key, (byKernel.get(key) ?? 0) + t);
      }
      for (const [k, t] of byKernel) best.set(k, Math.min(best.get(k) ?? Infinity, t));
    }
    let total = 0;
    for (const [k, t] of [...best].sort((a, b) => b[1] - a[1])) {
      total += t;
      process.stderr.write(`${t.toFixed(1)} ms  ${k}\n`);
    }
    process.stderr.write(
      `${total.toFixed(1)} ms in kernels per batch of ${B} (least of ${batches} per kernel): ${((B / total) * 1000).toFixed(1)} images/s\n`,
    );
  }
  // per-batch times: the machine may be shared, so the best batch is reported beside the median
  const times: number[] = [];
  for (let i = 0; i < batches; i++) {
    const t0 = performance.now();
    tf.tidy(() => {
      loaded.core(x).dataSync();
    });
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const best = B / times[0],
    med = B / times[times.length >> 1];
  const macs = coreMultiplyAdds(loaded.encoder.architecture.core);
  x.dispose();
  console.log(
    JSON.stringify({
      core: loaded.coreDescription,
      threads: 1,
      batch: B,
      img_per_s_best: Math.round(best * 10) / 10,
      img_per_s_median: Math.round(med * 10) / 10,
      mflop_per_image: Math.round((2 * macs) / 1e5) / 10,
      gflop_per_s_best: Math.round((best * 2 * macs) / 1e8) / 10,
    }),
  );
}

void main();
