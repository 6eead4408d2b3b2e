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
import type { CacheBlock, FeatureCache } from '../readout/feature_cache';
import { flattenParams, readoutParams, unflattenParams } from '../readout/readout_params';
import type { StepResult } from '../readout/readout_step';
import type { ReadoutWorkers, WorkerStepInput } from '../readout/readout_workers';
import type { CorePool } from './core_pool';

/** The cache blocks a readout worker gets at least (fewer, larger blocks: the batches split less evenly). */
export const SHARD_BLOCKS_PER_WORKER = 16;

/** Slots per cache block for a cache of `images` maps that `threads` readout workers will share. */
export function shardBlockSlots(images: number, threads: number): number {
  return Math.max(1, Math.ceil(images / (SHARD_BLOCKS_PER_WORKER * Math.max(1, threads))));
}

/** A worker's step inputs, reused: parameter values (gradients on the way back), slots, targets, draws. */
interface StepBuffers {
  values: Float32Array;
  slots: Int32Array;
  targets: Float32Array;
  noise: Float32Array;
}

export class ReadoutShards implements ReadoutWorkers {
  private readout: TrainableReadout | null = null;
  private readonly spare: Array<StepBuffers | null> = [];
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
          const mine: Array<[number, CacheBlock]> = [];
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

  /**
   * Sends every worker its part before the first await (the caller may prepare the next batch meanwhile). The
   * buffers travel to the worker and back with its gradients (written over the values), so that a run allocates
   * none per step: garbage ArrayBuffers are freed only by a garbage collection, and at a few hundred kB a step
   * they held the renderer's memory up by the size of the cache.
   */
  async step(s: WorkerStepInput): Promise<StepResult> {
    this.open();
    if (this.readout !== s.readout) await this.sync(s.readout);
    const N = s.readout.neurons;
    const parts = this.split(s.trials);
    const first = parts.findIndex((p) => p.length > 0);
    const P = s.params.reduce((a, p) => a + p.value.length, 0);
    const replies = await Promise.all(
      parts.map((idx, k) => {
        if (idx.length === 0) return null;
        const b = this.stepBuffers(k, P, idx.length, s.trials.length, N, s.noise !== null);
        flattenParams(s.params, b.values);
        idx.forEach((i, j) => {
          b.slots[j] = this.cache.slotOfTrial[s.trials[i]];
          b.targets.set(s.targets.subarray(i * N, (i + 1) * N), j * N);
          if (s.noise) b.noise.set(s.noise.subarray(2 * i * N, 2 * (i + 1) * N), 2 * j * N);
        });
        this.spare[k] = null; // in flight: the reply brings them back
        const msg = {
          type: 'shard-step',
          n: idx.length,
          values: b.values,
          slots: b.slots,
          targets: b.targets,
          noise: s.noise ? b.noise : null,
          lossScale: s.lossScale,
          gammaReadout: s.gammaReadout,
          regularizer: k === first,
          logEps: s.logEps,
          loss: s.loss,
        };
        return this.pool.request(
          k,
          msg,
          [b.values, b.slots, b.targets, b.noise].map((a) => a.buffer as ArrayBuffer),
        );
      }),
    );
    for (const p of s.params) p.grad.fill(0);
    const out: StepResult = { loss: 0, poisson: 0, l1: NaN };
    replies.forEach((r, k) => {
      if (!r) return;
      const g = r.values as Float32Array;
      unflattenParams(s.params, g, 'grad', true);
      out.loss += r.loss as number;
      out.poisson += r.poisson as number;
      if (k === first) out.l1 = r.l1 as number;
      this.spare[k] = {
        values: g,
        slots: r.slots as Int32Array,
        targets: r.targets as Float32Array,
        noise: r.noise as Float32Array,
      };
    });
    return out;
  }

  /**
   * Worker k's step buffers for `n` images: its spare set back from the last step when large enough, else new
   * ones for a whole batch of `batch` (any share of later batches then fits).
   */
  private stepBuffers(k: number, P: number, n: number, batch: number, N: number, noise: boolean): StepBuffers {
    const b = this.spare[k];
    if (b && b.values.length === P && b.slots.length >= n && (!noise || b.noise.length >= 2 * n * N)) return b;
    const cap = Math.max(n, batch, b?.slots.length ?? 0);
    return {
      values: new Float32Array(P),
      slots: new Int32Array(cap),
      targets: new Float32Array(cap * N),
      noise: new Float32Array(noise ? 2 * cap * N : 0),
    };
  }

  async predict(readout: TrainableReadout, trials: ArrayLike<number>): Promise<Float32Array> {
    this.open();
    if (this.readout !== readout) await this.sync(readout);
    const N = readout.neurons;
    const values = flattenParams(readoutParams(readout));
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
      const blocks: CacheBlock[] = [];
      for (const r of replies) for (const [i, b] of r.blocks as Array<[number, CacheBlock]>) blocks[i] = b;
      this.cache.takeBack(blocks);
    } catch (e) {
      this.cache.takeBack(null);
      throw e;
    }
  }
}
