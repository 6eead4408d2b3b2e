/**
 * The readout's steps and predictions on the core pool's workers (readout/readout_workers.ts says why and how):
 * the feature cache's blocks are moved (transferred, not copied) to the workers, block b to worker b mod K, so the
 * cache is held once in all; each batch image goes to the worker that holds its map; the workers' gradients are
 * summed here. `giveBack` moves the blocks home again, and the cache reads as before.
 *
 * Per step each worker gets the readout's parameters (~(C + 6) floats a neuron), its images' slots, targets and
 * position draws, and returns its gradients: a few hundred kB for a thousand neurons, against ~10 ms of work.
 */
import type { TrainableReadout } from '../../model/readout_types';
import type { FeatureCache } from '../readout/feature_cache';
import { readoutParams } from '../readout/readout_params';
import type { StepResult } from '../readout/readout_step';
import type { ReadoutWorkers, WorkerStepInput } from '../readout/readout_workers';
import type { CorePool } from './core_pool';

type Block = Float32Array | Uint16Array;

/** The cache blocks a readout worker gets at least (fewer, larger blocks: the batches split less evenly). */
export const SHARD_BLOCKS_PER_WORKER = 16;

/** Slots per cache block for a cache of `images` maps that `threads` readout workers will share. */
export function shardBlockSlots(images: number, threads: number): number {
  return Math.max(1, Math.ceil(images / (SHARD_BLOCKS_PER_WORKER * Math.max(1, threads))));
}

export class ReadoutShards implements ReadoutWorkers {
  private readout: TrainableReadout | null = null;
  private closed = false;

  private constructor(
    private readonly pool: CorePool,
    private readonly cache: FeatureCache,
  ) {}

  get threads(): number {
    return this.pool.threads;
  }

  get description(): string {
    return `readout steps on ${this.pool.threads} workers (the cache split between them)`;
  }

  /** Moves `cache`'s blocks to the pool's workers. If that fails the blocks already sent are lost (cache says so). */
  static async lend(pool: CorePool, cache: FeatureCache): Promise<ReadoutShards> {
    const blocks = cache.lendBlocks();
    const K = pool.threads;
    try {
      await Promise.all(
        Array.from({ length: K }, (_, k) => {
          const mine: Array<[number, Block]> = [];
          blocks.forEach((b, i) => {
            if (i % K === k) mine.push([i, b]);
          });
          return pool.request(
            k,
            {
              type: 'shard-blocks',
              geometry: cache.geometry,
              precision: cache.precision,
              blockSlots: cache.blockSlots,
              blocks: mine,
            },
            mine.map(([, b]) => b.buffer as ArrayBuffer),
          );
        }),
      );
    } catch (e) {
      cache.takeBack(null, 'lost: a readout worker failed while the cache was being split');
      throw e;
    }
    return new ReadoutShards(pool, cache);
  }

  private owner(slot: number): number {
    return Math.floor(slot / this.cache.blockSlots) % this.pool.threads;
  }

  /** The readout's structure to every worker, once per readout object (steps then send values only). */
  private open(): void {
    if (this.closed) throw new Error('the readout workers gave the cache back');
  }

  private async sync(readout: TrainableReadout): Promise<void> {
    await Promise.all(
      Array.from({ length: this.pool.threads }, (_, k) => this.pool.request(k, { type: 'shard-readout', readout })),
    );
    this.readout = readout;
  }

  /** Batch positions per worker, by where each trial's map is held. */
  private split(trials: ArrayLike<number>): number[][] {
    const parts: number[][] = Array.from({ length: this.pool.threads }, () => []);
    for (let i = 0; i < trials.length; i++) {
      const slot = this.cache.slotOfTrial[trials[i]];
      if (!(slot >= 0)) throw new Error(`trial ${trials[i]} is not in the feature cache`);
      parts[this.owner(slot)].push(i);
    }
    return parts;
  }

  /** Sends every worker its part before the first await (the caller may prepare the next batch meanwhile). */
  async step(s: WorkerStepInput): Promise<StepResult> {
    this.open();
    if (this.readout !== s.readout) await this.sync(s.readout);
    const N = s.readout.neurons;
    const values = concatValues(s.params);
    const parts = this.split(s.trials);
    const first = parts.findIndex((p) => p.length > 0);
    const replies = await Promise.all(
      parts.map((idx, k) => {
        if (idx.length === 0) return null;
        const slots = Int32Array.from(idx, (i) => this.cache.slotOfTrial[s.trials[i]]);
        const targets = gather(s.targets, idx, N);
        const noise = s.noise ? gather(s.noise, idx, 2 * N) : null;
        const v = values.slice();
        const transfer = [v.buffer, slots.buffer, targets.buffer] as ArrayBuffer[];
        if (noise) transfer.push(noise.buffer as ArrayBuffer);
        const msg = {
          type: 'shard-step',
          values: v,
          slots,
          targets,
          noise,
          lossScale: s.lossScale,
          gammaReadout: s.gammaReadout,
          regularizer: k === first,
          logEps: s.logEps,
          loss: s.loss,
        };
        return this.pool.request(k, msg, transfer);
      }),
    );
    for (const p of s.params) p.grad.fill(0);
    const out: StepResult = { loss: 0, poisson: 0, l1: NaN };
    replies.forEach((r, k) => {
      if (!r) return;
      const g = r.grads as Float32Array;
      let o = 0;
      for (const p of s.params) {
        const pg = p.grad;
        for (let i = 0; i < pg.length; i++) pg[i] += g[o + i];
        o += pg.length;
      }
      out.loss += r.loss as number;
      out.poisson += r.poisson as number;
      if (k === first) out.l1 = r.l1 as number;
    });
    return out;
  }

  async predict(readout: TrainableReadout, trials: ArrayLike<number>): Promise<Float32Array> {
    this.open();
    if (this.readout !== readout) await this.sync(readout);
    const N = readout.neurons;
    const values = concatValues(readoutParams(readout));
    const parts = this.split(trials);
    const out = new Float32Array(trials.length * N);
    await Promise.all(
      parts.map(async (idx, k) => {
        if (idx.length === 0) return;
        const slots = Int32Array.from(idx, (i) => this.cache.slotOfTrial[trials[i]]);
        const v = values.slice();
        const r = await this.pool.request(k, { type: 'shard-predict', values: v, slots }, [
          v.buffer as ArrayBuffer,
          slots.buffer as ArrayBuffer,
        ]);
        const pred = r.out as Float32Array;
        idx.forEach((i, j) => out.set(pred.subarray(j * N, (j + 1) * N), i * N));
      }),
    );
    return out;
  }

  /** Moves the blocks back into the cache (or marks them lost when a worker cannot answer). */
  async giveBack(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      const replies = await Promise.all(
        Array.from({ length: this.pool.threads }, (_, k) => this.pool.request(k, { type: 'shard-return' })),
      );
      const blocks: Block[] = [];
      for (const r of replies) for (const [i, b] of r.blocks as Array<[number, Block]>) blocks[i] = b;
      this.cache.takeBack(blocks);
    } catch (e) {
      this.cache.takeBack(null);
      throw e;
    }
  }
}

/** The parameters' values end to end, in readoutParams' order (what the workers' copies are set from). */
function concatValues(params: ReadonlyArray<{ value: Float32Array }>): Float32Array {
  const out = new Float32Array(params.reduce((a, p) => a + p.value.length, 0));
  let o = 0;
  for (const p of params) {
    out.set(p.value, o);
    o += p.value.length;
  }
  return out;
}

/** Rows `idx` of a row-major array with `width` values a row. */
function gather(src: Float32Array, idx: readonly number[], width: number): Float32Array {
  const out = new Float32Array(idx.length * width);
  idx.forEach((i, j) => out.set(src.subarray(i * width, (i + 1) * width), j * width));
  return out;
}
