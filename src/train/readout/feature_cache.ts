/**
 * Frozen-core feature cache: the core's output for every image the readout training needs, computed once
 * (the core is the expensive part: ~60 M multiply-adds per 36x64 image against ~0.5 M for a 1000-neuron
 * readout) and kept on the host as (images, H', W', C) so that each pixel's channel vector is contiguous for
 * the fused readout kernel.
 *
 * Precision: float32; float16 (IEEE half, rounded to nearest even: 11 significant bits, relative error <= 2^-11,
 * range +-65504, ample for ELU outputs of a batch-normalized core; a value beyond it is an error, not silently
 * infinite); or bfloat16 (the upper 16 bits of the float32: 8 significant bits, float32's range). The 16-bit
 * forms take half the memory and are expanded back per image when read (float16 through a 64K-entry table,
 * bfloat16 by a shift). Storage is split into
 * blocks so that no single allocation grows with the scan (browsers refuse very large ArrayBuffers).
 * Trials that show the same image (the repeated test images) share one slot.
 */
import * as tf from '@tensorflow/tfjs';
import { normalizedImages } from '../../io/scan/normalize';
import type { Scan } from '../../io/scan/types';
import type { CoreRunner, HostCoreRunner } from '../../kernels/core_runner';
import type { MapGeometry } from '../../kernels/fused_readout';
import { decodeHalfSimd } from '../../kernels/wasm/half_decode';

export type CachePrecision = 'float32' | 'float16' | 'bfloat16';

/** One storage block of the cache: blockSlots maps, float32 or 16-bit (float16 / bfloat16 bits). */
export type CacheBlock = Float32Array | Uint16Array;

/** Default: half the memory of float32 with 11 significant bits (bfloat16 keeps only 8). */
export const DEFAULT_CACHE_PRECISION: CachePrecision = 'float16';

function isHostRunner(c: CoreRunner | HostCoreRunner): c is HostCoreRunner {
  return typeof c !== 'function';
}

export interface CacheProgress {
  done: number;
  total: number;
  elapsedS: number;
  remainingS: number;
}

export interface FeatureCacheOptions {
  precision?: CachePrecision;
  /** Images per core forward pass (default 32). */
  chunkSize?: number;
  /** Slots per storage block (default: about 64 MB per block). */
  blockSlots?: number;
  onProgress?: (p: CacheProgress) => void;
  /** Aborts between chunks. */
  signal?: { readonly aborted: boolean };
  /** Refuse to build a cache larger than this (bytes). */
  maxBytes?: number;
  /**
   * Sees each chunk's core output tensor (tfjs core) before it is read back: slots [startSlot, startSlot + n) of
   * `slots` (a WebGPU engine copies it into its GPU cache on the GPU). The tensor is disposed after the call.
   */
  onCoreOutput?: (y: tf.Tensor4D, startSlot: number, slots: number) => void | Promise<void>;
  /**
   * false: the tfjs core's outputs are not read back (onCoreOutput keeps them on the GPU) and the cache has no host
   * copy (FeatureCache.hostless). Default true.
   */
  hostCopy?: boolean;
}

export function bytesPerValue(precision: CachePrecision): number {
  return precision === 'float32' ? 4 : 2;
}

/** Memory the cache will take for `images` distinct images (the storage itself; scratch is separate). */
export function estimateCacheBytes(images: number, geometry: MapGeometry, precision: CachePrecision): number {
  return images * geometry.height * geometry.width * geometry.channels * bytesPerValue(precision);
}

export class FeatureCache {
  readonly mapSize: number;
  private readonly blocks: CacheBlock[] = [];
  private filled = 0;

  constructor(
    readonly geometry: MapGeometry,
    readonly precision: CachePrecision,
    /** Slot of each scan trial, -1 for trials that are not cached. */
    readonly slotOfTrial: Int32Array,
    readonly slots: number,
    readonly blockSlots: number,
    /**
     * No host copy: the maps live only on the GPU (a WebGPU readout engine's cache, filled from the core on the
     * GPU); `map` then throws, `store` only counts.
     */
    readonly hostless = false,
  ) {
    this.mapSize = geometry.height * geometry.width * geometry.channels;
    for (let s = 0; !hostless && s < slots; s += blockSlots) {
      const n = Math.min(blockSlots, slots - s) * this.mapSize;
      this.blocks.push(precision === 'float32' ? new Float32Array(n) : new Uint16Array(n));
    }
  }

  /** Storage bytes. */
  get bytes(): number {
    if (this.hostless) return 0;
    return this.slots * this.mapSize * bytesPerValue(this.precision);
  }

  get complete(): boolean {
    return this.filled === this.slots;
  }

  has(trial: number): boolean {
    return trial >= 0 && trial < this.slotOfTrial.length && this.slotOfTrial[trial] >= 0;
  }

  /** Stores the (H', W', C) map of `slot` (from float32). */
  store(slot: number, values: Float32Array): void {
    if (this.hostless) {
      this.filled++;
      return;
    }
    if (values.length !== this.mapSize)
      throw new Error(`feature map of ${values.length} values, expected ${this.mapSize}`);
    const block = this.blocks[Math.floor(slot / this.blockSlots)];
    const off = (slot % this.blockSlots) * this.mapSize;
    if (block instanceof Float32Array) block.set(values, off);
    else if (this.precision === 'bfloat16') toBfloat16(values, block.subarray(off, off + this.mapSize));
    else toFloat16(values, block.subarray(off, off + this.mapSize));
    this.filled++;
  }

  /**
   * The map of a trial as float32: a view into the cache (float32), or expanded into `scratch` (bfloat16;
   * `scratch` must hold mapSize values and is returned).
   */
  map(trial: number, scratch?: Float32Array): Float32Array {
    const slot = this.slotOfTrial[trial];
    if (!(slot >= 0)) throw new Error(`trial ${trial} is not in the feature cache`);
    if (this.hostless) throw new Error('the feature cache is kept on the GPU only (WebGPU readout): no host copy');
    if (this.lent) throw new Error(`the feature cache is ${this.lent}`);
    return slotMap(this.blocks, this.blockSlots, this.mapSize, this.precision, slot, scratch);
  }

  /** Why the host copy is away ('lent to the readout workers', 'lost with a failed worker'), or null. */
  private lent: string | null = null;

  /**
   * Hands the storage blocks over (to be transferred to the readout workers, readout_shards.ts): the cache keeps
   * its slots and geometry but reads no map until `takeBack` returns them. One holder at a time.
   */
  lendBlocks(): CacheBlock[] {
    if (this.hostless) throw new Error('the feature cache has no host copy to lend');
    if (this.lent) throw new Error(`the feature cache is ${this.lent}`);
    this.lent = 'lent to the readout workers';
    const out = this.blocks.slice();
    this.blocks.length = 0;
    return out;
  }

  /** The lent blocks back, in their order; `lost` instead says why they cannot come back (map then says so). */
  takeBack(blocks: CacheBlock[] | null, lost = 'lost with a failed readout worker'): void {
    if (!blocks) {
      this.lent = lost;
      return;
    }
    blocks.forEach((b, i) => {
      const n = Math.min(this.blockSlots, this.slots - i * this.blockSlots) * this.mapSize;
      if (b.length !== n) throw new Error(`returned cache block ${i} holds ${b.length} values, not ${n}`);
    });
    if (blocks.length !== Math.ceil(this.slots / this.blockSlots))
      throw new Error(`${blocks.length} cache blocks returned, ${Math.ceil(this.slots / this.blockSlots)} lent`);
    this.blocks.length = 0;
    this.blocks.push(...blocks);
    this.lent = null;
  }
}

/**
 * The map of `slot` in block storage as float32 (FeatureCache.map, and a readout worker's share of the blocks): a
 * view for float32 blocks, else decoded into `scratch`.
 */
export function slotMap(
  blocks: ReadonlyArray<CacheBlock | undefined>,
  blockSlots: number,
  mapSize: number,
  precision: CachePrecision,
  slot: number,
  scratch?: Float32Array,
): Float32Array {
  const block = blocks[Math.floor(slot / blockSlots)];
  if (!block) throw new Error(`cache slot ${slot} is not held here`);
  const off = (slot % blockSlots) * mapSize;
  if (block instanceof Float32Array) return block.subarray(off, off + mapSize);
  if (!scratch || scratch.length < mapSize) throw new Error(`a ${precision} cache needs a scratch buffer of one map`);
  if (precision === 'bfloat16') fromBfloat16(block.subarray(off, off + mapSize), scratch);
  else fromFloat16(block.subarray(off, off + mapSize), scratch);
  return scratch;
}

/** float32 -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBfloat16(src: Float32Array, dst: Uint16Array): void {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    dst[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
}

/** float32 -> IEEE half bits, round to nearest even. Throws on values beyond the half range (|x| > 65504). */
export function toFloat16(src: Float32Array, dst: Uint16Array): void {
  const u = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 0xff) {
      dst[i] = sign | 0x7c00 | (m ? 0x200 : 0);
      continue;
    } // Inf / NaN stay so
    const he = e - 127 + 15;
    if (he >= 0x1f) throw new RangeError(`core output ${src[i]} is beyond the float16 range; cache in float32 instead`);
    if (he <= 0) {
      // subnormal half (or zero): shift the mantissa with its implicit 1 into place, round to nearest even
      if (he < -10) {
        dst[i] = sign;
        continue;
      }
      m |= 0x800000;
      const shift = 14 - he;
      const half = 1 << (shift - 1);
      const rest = m & ((1 << shift) - 1);
      let hm = m >>> shift;
      if (rest > half || (rest === half && hm & 1)) hm++;
      dst[i] = sign | hm;
      continue;
    }
    let h = (he << 10) | (m >>> 13);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct
    if ((h & 0x7c00) === 0x7c00)
      throw new RangeError(`core output ${src[i]} is beyond the float16 range; cache in float32 instead`);
    dst[i] = sign | h;
  }
}

let halfTable: Float32Array | null = null;

/** IEEE half bits -> float32: WebAssembly SIMD where there is, else through a 64K-entry table (one load per value). */
export function fromFloat16(src: Uint16Array, dst: Float32Array): void {
  if (src.length >= 64 && decodeHalfSimd(src, dst)) return;
  fromFloat16Table(src, dst);
}

/** The table decoder (the reference the SIMD one is tested against; short arrays use it too). */
export function fromFloat16Table(src: Uint16Array, dst: Float32Array): void {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = h & 0x8000 ? -1 : 1,
        e = (h >> 10) & 0x1f,
        f = h & 0x3ff;
      halfTable[h] =
        e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
    }
  }
  const t = halfTable;
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
}

/** bfloat16 bits -> float32. */
export function fromBfloat16(src: Uint16Array, dst: Float32Array): void {
  const u = new Uint32Array(dst.buffer, dst.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
}

/**
 * Slots for the given trials: trials showing byte-identical images with the same frame_image_id share a slot.
 * Returns the slot of every scan trial (-1 when not requested), the number of slots, and one trial per slot.
 */
export function assignSlots(
  scan: Pick<Scan, 'nTrials' | 'images' | 'imageShape' | 'frameImageId'>,
  trials: ArrayLike<number>,
): { slotOfTrial: Int32Array; slots: number; firstTrial: Int32Array } {
  const slotOfTrial = new Int32Array(scan.nTrials).fill(-1);
  const per = scan.imageShape[0] * scan.imageShape[1] * scan.imageShape[2];
  const byId = new Map<number, number[]>(); // image id -> slots already made for it
  const first: number[] = [];
  const same = (a: number, b: number): boolean => {
    const x = scan.images,
      oa = a * per,
      ob = b * per;
    for (let i = 0; i < per; i++) if (x[oa + i] !== x[ob + i]) return false;
    return true;
  };
  for (let k = 0; k < trials.length; k++) {
    const t = trials[k];
    if (!(t >= 0 && t < scan.nTrials)) throw new RangeError(`trial ${t} out of range 0..${scan.nTrials - 1}`);
    if (slotOfTrial[t] >= 0) continue;
    const id = scan.frameImageId[t];
    const candidates = byId.get(id) ?? [];
    const hit = candidates.find((s) => same(first[s], t));
    if (hit !== undefined) {
      slotOfTrial[t] = hit;
      continue;
    }
    const s = first.length;
    first.push(t);
    candidates.push(s);
    byId.set(id, candidates);
    slotOfTrial[t] = s;
  }
  return { slotOfTrial, slots: first.length, firstTrial: Int32Array.from(first) };
}

/**
 * Runs the core over the images of `trials` (scan positions) in chunks and caches the outputs. The geometry
 * comes from the core's output. Progress is reported after each chunk.
 */
export async function buildFeatureCache(
  core: CoreRunner | HostCoreRunner,
  scan: Scan,
  trials: ArrayLike<number>,
  opts: FeatureCacheOptions = {},
): Promise<FeatureCache> {
  const precision = opts.precision ?? DEFAULT_CACHE_PRECISION;
  const chunk = Math.max(1, Math.floor(opts.chunkSize ?? 32));
  const { slotOfTrial, slots, firstTrial } = assignSlots(scan, trials);
  if (slots === 0) throw new Error('no trials to cache');
  const [C, H, W] = scan.imageShape;
  const t0 = performance.now();
  let cache: FeatureCache | null = null;
  let done = 0;
  const makeCache = (geometry: MapGeometry): FeatureCache => {
    const bytes = estimateCacheBytes(slots, geometry, precision);
    if (opts.maxBytes !== undefined && bytes > opts.maxBytes) {
      throw new Error(
        `the feature cache would take ${formatBytes(bytes)} (${slots} images x ${geometry.height}x${geometry.width}x${geometry.channels} ${precision}), over the limit of ${formatBytes(opts.maxBytes)}`,
      );
    }
    const per = geometry.height * geometry.width * geometry.channels * bytesPerValue(precision);
    const blockSlots = opts.blockSlots ?? Math.max(1, Math.floor((64 << 20) / per));
    return new FeatureCache(geometry, precision, slotOfTrial, slots, blockSlots, opts.hostCopy === false);
  };
  const storeChunk = (start: number, n: number, values: Float32Array): void => {
    const m = cache!.mapSize;
    if (!cache!.hostless && values.length !== n * m)
      throw new Error(`core returned ${values.length} values for ${n} images of ${m}`);
    for (let i = 0; i < n; i++) cache!.store(start + i, values.subarray(i * m, (i + 1) * m));
    done += n;
    const elapsedS = (performance.now() - t0) / 1000;
    opts.onProgress?.({ done, total: slots, elapsedS, remainingS: (elapsedS / done) * (slots - done) });
  };
  const aborted = (): void => {
    if (opts.signal?.aborted) throw new DOMException('feature caching was stopped', 'AbortError');
  };

  if (opts.hostCopy === false && isHostRunner(core))
    throw new Error('a feature cache without a host copy needs a core on tfjs (its outputs stay on the GPU)');
  if (isHostRunner(core)) {
    const [oc, oh, ow] = core.outputShape;
    cache = makeCache({ height: oh, width: ow, channels: oc });
    // keep every worker busy: `threads` chunks in flight, results stored as they come
    const inflight = new Set<Promise<void>>();
    for (let start = 0; start < slots; start += chunk) {
      aborted();
      const n = Math.min(chunk, slots - start);
      const x = normalizedImages(scan, firstTrial.subarray(start, start + n));
      const s0 = start;
      const p: Promise<void> = core
        .runHost(x, n)
        .then((v) => storeChunk(s0, n, v))
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= Math.max(1, core.threads)) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    return cache;
  }

  for (let start = 0; start < slots; start += chunk) {
    aborted();
    const idx = firstTrial.subarray(start, Math.min(slots, start + chunk));
    const x = normalizedImages(scan, idx);
    const y = tf.tidy(() => core(tf.tensor4d(x, [idx.length, C, H, W])));
    let values: Float32Array;
    try {
      if (y.rank !== 4 || y.shape[0] !== idx.length)
        throw new Error(`core returned shape (${y.shape}) for ${idx.length} images`);
      await opts.onCoreOutput?.(y, start, slots);
      values = opts.hostCopy === false ? new Float32Array(0) : ((await y.data()) as Float32Array);
    } finally {
      y.dispose();
    }
    if (!cache) cache = makeCache({ height: y.shape[1], width: y.shape[2], channels: y.shape[3] });
    storeChunk(start, idx.length, values);
  }
  return cache!;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}
