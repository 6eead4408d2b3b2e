/**
 * Core-only timing (the frozen core's fast forward on tfjs-wasm, one thread): images/s at batch 64 on the
 * fixture checkpoint (best and median batch), and the GFLOP/s that is (2 flops per multiply-add of the convolutions). With --profile,
 * the time of each kind of kernel call (least and median). On a shared machine use small batches and many of them (the best
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
  // --profile: every kernel call of the forward timed (wrapping the registered kernels), least and median per
  // kind over the batches; on a shared machine the least is the undisturbed time. (tf.profile's kernel times are
  // per batch and were inflated by other processes' load far more than these short calls.)
  const calls = new Map<string, number[]>();
  if (argv.includes('--profile')) {
    for (const name of [
      'V1xConvFused',
      'V1xDepthwiseSame',
      'FusedConv2D',
      'Conv2D',
      'DepthwiseConv2dNative',
      'Transpose',
    ]) {
      const k = tf.getKernel(name, 'wasm');
      if (!k) continue;
      tf.unregisterKernel(name, 'wasm');
      const inner = k.kernelFunc as (args: { inputs: tf.NamedTensorInfoMap; attrs?: { key?: string } }) => unknown;
      tf.registerKernel({
        ...k,
        kernelFunc: ((args: { inputs: tf.NamedTensorInfoMap; attrs?: { key?: string } }) => {
          const t0 = performance.now();
          const r = inner(args);
          const key = `${name} ${args.attrs?.key ?? JSON.stringify(args.inputs.filter?.shape ?? '')}`;
          const list = calls.get(key) ?? [];
          list.push(performance.now() - t0);
          calls.set(key, list);
          return r;
        }) as unknown as tf.KernelFunc,
      });
    }
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
  let kernelsMs = 0;
  for (const [k, v] of calls) {
    v.sort((a, b) => a - b);
    const perBatch = v.length / batches;
    kernelsMs += v[0] * perBatch;
    process.stderr.write(
      `${k}: ${perBatch} per batch, least ${v[0].toFixed(2)} ms, median ${v[v.length >> 1].toFixed(2)} ms\n`,
    );
  }
  if (calls.size) process.stderr.write(`kernels per batch of ${B} (least of each): ${kernelsMs.toFixed(1)} ms\n`);
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
