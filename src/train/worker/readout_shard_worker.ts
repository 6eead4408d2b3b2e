/**
 * A core-pool worker's share of the readout training (the other side of readout_shards.ts): it holds the feature
 * cache blocks it was lent and a copy of the readout, and answers steps and predictions for the batch images whose
 * maps it holds, with the same step code as one thread (readout_step.ts).
 *
 * Messages (each with the pool's id; replies carry it back):
 *   -> { type: 'shard-blocks', geometry, precision, blockSlots, blocks: [index, data][] }  <- { type: 'ok' }
 *   -> { type: 'shard-readout', readout }                                                   <- { type: 'ok' }
 *   -> { type: 'shard-step', n, values, slots, targets, noise, lossScale, gammaReadout, regularizer, logEps, loss }
 *                                         <- { type: 'grads', values (now the gradients), slots, targets, noise,
 *                                              loss, poisson, l1 }: the buffers come back for the next step
 *   -> { type: 'shard-predict', values, slots }           <- { type: 'predictions', out } (slots x neurons)
 *   -> { type: 'shard-return' }                           <- { type: 'blocks', blocks: [index, data][] } (moved back)
 * `values` are the readout's parameters (and on the way back their gradients) concatenated in readoutParams'
 * order; the step's buffers may be longer than its `n` images need.
 */
import type { MapGeometry } from '../../kernels/fused_readout';
import type { LossName } from '../../model/output_loss';
import type { TrainableReadout } from '../../model/readout_types';
import { type CacheBlock, type CachePrecision, slotMap } from '../readout/feature_cache';
import { flattenParams, type Param, readoutParams, unflattenParams } from '../readout/readout_params';
import { evalPositions, predictBatch, readoutLossAndGrads, StepWorkspace } from '../readout/readout_step';

export interface ShardRequest {
  type: string;
  id?: number;
  geometry?: MapGeometry;
  precision?: CachePrecision;
  blockSlots?: number;
  blocks?: Array<[number, CacheBlock]>;
  readout?: TrainableReadout;
  values?: Float32Array;
  slots?: Int32Array;
  targets?: Float32Array;
  noise?: Float32Array | null;
  /** Images of this step (the buffers may be longer). */
  n?: number;
  lossScale?: number;
  gammaReadout?: number;
  regularizer?: boolean;
  logEps?: number;
  loss?: LossName;
}

interface Shard {
  geometry: MapGeometry;
  precision: CachePrecision;
  blockSlots: number;
  mapSize: number;
  blocks: Array<CacheBlock | undefined>;
}

/** A worker's shard state; `handle` answers one request (null when the message is not a shard's). */
export class ReadoutShardServer {
  private shard: Shard | null = null;
  private readout: TrainableReadout | null = null;
  private params: Param[] = [];
  /** The factorized readout's own regularizer weight (the copy trains with 0 unless it carries the regularizer). */
  private regWeight = 0;
  private readonly ws = new StepWorkspace();
  private scratch: Float32Array[] = [];

  handle(m: ShardRequest): { reply: Record<string, unknown>; transfer: ArrayBuffer[] } | null {
    switch (m.type) {
      case 'shard-blocks': {
        const g = m.geometry!;
        const mapSize = g.height * g.width * g.channels;
        const blocks: Array<CacheBlock | undefined> = [];
        for (const [i, b] of m.blocks!) blocks[i] = b;
        this.shard = { geometry: g, precision: m.precision!, blockSlots: m.blockSlots!, mapSize, blocks };
        return { reply: { type: 'ok' }, transfer: [] };
      }
      case 'shard-readout': {
        this.readout = m.readout!;
        this.params = readoutParams(this.readout);
        this.regWeight = this.readout.kind === 'factorized' ? this.readout.options.regWeight : 0;
        return { reply: { type: 'ok' }, transfer: [] };
      }
      case 'shard-step':
        return this.step(m);
      case 'shard-predict':
        return this.predict(m);
      case 'shard-return': {
        const s = this.need();
        const blocks: Array<[number, CacheBlock]> = [];
        s.blocks.forEach((b, i) => {
          if (b) blocks.push([i, b]);
        });
        this.shard = null;
        this.scratch = [];
        return { reply: { type: 'blocks', blocks }, transfer: blocks.map(([, b]) => b.buffer as ArrayBuffer) };
      }
      default:
        return null;
    }
  }

  private need(): Shard {
    if (!this.shard) throw new Error('this worker holds no feature cache blocks');
    return this.shard;
  }

  private setValues(values: Float32Array): TrainableReadout {
    if (!this.readout) throw new Error('this worker holds no readout');
    unflattenParams(this.params, values, 'value');
    return this.readout;
  }

  private maps(slots: Int32Array): Float32Array[] {
    const s = this.need();
    while (this.scratch.length < slots.length)
      this.scratch.push(s.precision === 'float32' ? new Float32Array(0) : new Float32Array(s.mapSize));
    return Array.from(slots, (slot, i) =>
      slotMap(s.blocks, s.blockSlots, s.mapSize, s.precision, slot, this.scratch[i]),
    );
  }

  private step(m: ShardRequest) {
    const values = m.values!;
    const r = this.setValues(values);
    const n = m.n!;
    const N = r.neurons;
    const withReg = m.regularizer === true;
    if (r.kind === 'factorized') r.options.regWeight = withReg ? this.regWeight : 0;
    const res = readoutLossAndGrads({
      readout: r,
      params: this.params,
      geometry: this.need().geometry,
      maps: this.maps(m.slots!.subarray(0, n)),
      targets: m.targets!.subarray(0, n * N),
      noise: m.noise ? m.noise.subarray(0, 2 * n * N) : null,
      lossScale: m.lossScale!,
      gammaReadout: withReg ? m.gammaReadout! : 0,
      logEps: m.logEps,
      loss: m.loss,
      workspace: this.ws,
    });
    // the gradients go back in the values' buffer, with the other buffers, for the next step (no allocation)
    flattenParams(this.params, values, 'grad');
    const back = [values, m.slots!, m.targets!, m.noise ?? new Float32Array(0)];
    return {
      reply: {
        type: 'grads',
        values,
        slots: m.slots,
        targets: m.targets,
        noise: back[3],
        loss: res.loss,
        poisson: res.poisson,
        l1: res.l1,
      },
      transfer: back.map((a) => a.buffer as ArrayBuffer),
    };
  }

  private predict(m: ShardRequest) {
    const r = this.setValues(m.values!);
    const slots = m.slots!;
    const out = new Float32Array(slots.length * r.neurons);
    const pos = r.kind === 'gaussian' ? evalPositions(r) : null;
    const B = 64;
    for (let s = 0; s < slots.length; s += B) {
      const part = slots.subarray(s, Math.min(slots.length, s + B));
      const into = out.subarray(s * r.neurons, (s + part.length) * r.neurons);
      predictBatch(r, pos, this.need().geometry, this.maps(part), into, undefined, this.ws);
    }
    return { reply: { type: 'predictions', out }, transfer: [out.buffer as ArrayBuffer] };
  }
}
