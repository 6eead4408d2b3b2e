/**
 * The readout's training step on WebGPU (the WGSL kernels of kernels/webgpu) behind the trainer's step-engine
 * interface (readout_step.ts ReadoutStepEngine): the same host work as the WebAssembly path around the data term
 * (positions and their noise, the position network, sigma, the L1 penalty, the factorized mask's transform and
 * regularizer), the data term's forward and backward in WGSL, Adam in WGSL, and the feature cache on the GPU, filled
 * from the frozen core's tfjs-webgpu output without reading it back (kernels/webgpu/feature_cache.ts).
 *
 * Poisson loss on elu + 1 only (the reference); any other loss is refused up front (the page then keeps WASM).
 */
import * as tf from '@tensorflow/tfjs';
import { chooseReadoutEngine, type ReadoutEngineChoice, type ReadoutEngineName } from '../../backend/select';
import type { FactorizedStepResult, FactorizedTrainArgs } from '../../kernels/factorized_readout';
import type { MapGeometry, ReadoutTrainArgs } from '../../kernels/fused_readout';
import { GpuAdam } from '../../kernels/webgpu/adam';
import { GpuFactorizedReadout } from '../../kernels/webgpu/factorized_readout';
import { GpuFeatureCache } from '../../kernels/webgpu/feature_cache';
import { GpuGaussianReadout } from '../../kernels/webgpu/gaussian_readout';
import { Gpu } from '../../kernels/webgpu/gpu';
import type { GpuMapSource } from '../../kernels/webgpu/map_input';
import type { TrainableReadout } from '../../model/readout_types';
import type { FeatureCache } from './feature_cache';
import type { Param } from './readout_params';
import type { ReadoutStepEngine } from './readout_step';

export class WebGpuReadoutEngine implements ReadoutStepEngine {
  readonly name = 'webgpu';
  slots: Uint32Array | null = null;
  private readonly gpu: Gpu;
  private gaussian: GpuGaussianReadout | null = null;
  private factorized: GpuFactorizedReadout | null = null;
  private adam: GpuAdam | null = null;
  private cache: GpuFeatureCache | null = null;
  /** Why the GPU cache could not be made (the maps are then uploaded per batch); null when it is, or not asked. */
  cacheNote: string | null = null;

  constructor(
    device: GPUDevice,
    readonly reason: string,
  ) {
    this.gpu = new Gpu(device);
  }

  get holdsCache(): boolean {
    return this.cache !== null && this.cache.filled >= this.cache.slots;
  }

  /**
   * For buildFeatureCache's `onCoreOutput`: the core's output chunk (on this device's tfjs backend) copied into the
   * GPU cache on the GPU. Makes the cache on the first chunk; a cache that does not fit one binding is skipped
   * (cacheNote says why) and the host cache is uploaded per batch instead.
   */
  storeCoreOutput = async (y: tf.Tensor4D, startSlot: number, slots: number): Promise<void> => {
    // only a core on tfjs-webgpu with this engine's device hands over GPU buffers; otherwise attachCache uploads
    if (!this.sharesTfjsDevice()) return;
    if (!this.cache && this.cacheNote === null) {
      const geometry = { height: y.shape[1], width: y.shape[2], channels: y.shape[3] };
      if (GpuFeatureCache.fits(this.gpu, geometry, slots)) this.cache = new GpuFeatureCache(this.gpu, geometry, slots);
      else this.cacheNote = `the cache (${slots} maps) exceeds one GPU buffer binding: maps are uploaded per batch`;
    }
    this.cache?.storeTensor(y, startSlot);
    this.cacheFromCore = this.cache !== null;
    // one chunk at a time: the core's work and the copy done before the next chunk (progress, memory)
    await this.gpu.device.queue.onSubmittedWorkDone();
  };

  /**
   * Whether a cache of `slots` maps can live on the GPU only (no host copy): the core runs on tfjs-webgpu with this
   * engine's device and the cache fits one storage binding.
   */
  canHoldCache(geometry: MapGeometry, slots: number): boolean {
    return this.sharesTfjsDevice() && GpuFeatureCache.fits(this.gpu, geometry, slots);
  }

  /** Whether tfjs runs on WebGPU with this engine's device (its tensors' buffers can then be bound directly). */
  sharesTfjsDevice(): boolean {
    return (
      tf.getBackend() === 'webgpu' && (tf.backend() as unknown as { device?: GPUDevice }).device === this.gpu.device
    );
  }

  /** Where the steps read their maps: the GPU cache and how it was filled, or per-batch uploads. */
  get mapsFrom(): string {
    if (this.holdsCache)
      return this.cacheFromCore
        ? `the GPU cache, copied from the core on the GPU${this.hostless ? ' (no host copy)' : ''}`
        : 'the GPU cache, uploaded once';
    return this.cacheNote ?? 'per-batch uploads';
  }
  private cacheFromCore = false;
  private hostless = false;

  /** After the host cache is built: when the core did not feed the GPU cache (it ran elsewhere), upload it once. */
  attachCache(host: FeatureCache): void {
    this.hostless = host.hostless;
    if (this.holdsCache || this.cacheNote !== null) return;
    if (host.hostless) throw new Error('the GPU feature cache was not filled and the cache has no host copy');
    if (!GpuFeatureCache.fits(this.gpu, host.geometry, host.slots)) {
      this.cacheNote = `the cache (${host.slots} maps) exceeds one GPU buffer binding: maps are uploaded per batch`;
      return;
    }
    this.cache?.destroy();
    this.cache = new GpuFeatureCache(this.gpu, host.geometry, host.slots);
    const scratch = new Float32Array(host.mapSize);
    const trialOfSlot = new Int32Array(host.slots).fill(-1);
    host.slotOfTrial.forEach((slot, trial) => {
      if (slot >= 0 && trialOfSlot[slot] < 0) trialOfSlot[slot] = trial;
    });
    trialOfSlot.forEach((trial, slot) => {
      this.cache!.storeHost(slot, host.map(trial, scratch));
    });
  }

  private source(): GpuMapSource | undefined {
    if (!this.slots) return undefined;
    if (!this.cache) throw new Error('map slots given but the engine holds no feature cache');
    return { buffer: this.cache.buffer, slots: this.slots };
  }

  private gaussianKernel(g: MapGeometry, neurons: number): GpuGaussianReadout {
    const k = this.gaussian;
    if (!k || k.neurons !== neurons || !sameGeometry(k.geometry, g)) {
      k?.destroy();
      this.gaussian = new GpuGaussianReadout(this.gpu, { ...g }, neurons);
    }
    return this.gaussian!;
  }

  private factorizedKernel(g: MapGeometry, neurons: number): GpuFactorizedReadout {
    const k = this.factorized;
    if (!k || k.neurons !== neurons || !sameGeometry(k.geometry, g)) {
      k?.destroy();
      this.factorized = new GpuFactorizedReadout(this.gpu, { ...g }, neurons);
    }
    return this.factorized!;
  }

  gaussianStep(a: ReadoutTrainArgs): Promise<number> {
    return this.gaussianKernel(a, a.neurons).trainStep(a, this.source());
  }

  factorizedStep(a: FactorizedTrainArgs): Promise<FactorizedStepResult> {
    return this.factorizedKernel(a, a.neurons).trainStep(a, this.source());
  }

  async adamUpdate(
    params: Param[],
    adam: { lr: number; beta1: number; beta2: number; eps: number; step: number },
  ): Promise<void> {
    if (!this.adam || this.adam.params !== params) {
      this.adam?.destroy();
      this.adam = new GpuAdam(this.gpu, params);
      this.adam.step = adam.step;
    }
    await this.adam.update({ lr: adam.lr, beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps });
    adam.step = this.adam.step;
  }

  async predict(
    r: TrainableReadout,
    positions: Float32Array | null,
    geometry: MapGeometry,
    maps: readonly Float32Array[],
    out: Float32Array,
  ): Promise<void> {
    const source = this.source();
    if (r.kind === 'factorized') {
      const o = r.options;
      await this.factorizedKernel(geometry, r.neurons).predict(
        {
          ...geometry,
          maps,
          neurons: r.neurons,
          spatial: r.spatial,
          features: r.features,
          bias: r.bias,
          out,
          eluOffset: r.eluOffset,
          mask: { normalize: o.normalize, constrainPos: o.constrainPos, positiveSpatial: o.positiveSpatial },
        },
        source,
      );
      return;
    }
    if (!positions) throw new Error('a Gaussian readout predicts at given positions');
    await this.gaussianKernel(geometry, r.neurons).predict(
      {
        ...geometry,
        maps,
        neurons: r.neurons,
        features: r.features,
        bias: r.bias,
        positions,
        out,
        eluOffset: r.eluOffset,
        output: r.output,
      },
      source,
    );
  }

  destroy(): void {
    this.gaussian?.destroy();
    this.factorized?.destroy();
    this.adam?.destroy();
    this.cache?.destroy();
    this.gpu.destroy();
  }
}

function sameGeometry(a: MapGeometry, b: MapGeometry): boolean {
  return a.height === b.height && a.width === b.width && a.channels === b.channels;
}

/**
 * The readout engine for a fine-tuning run in this page or worker (backend/select.ts chooseReadoutEngine: WebGPU on
 * a hardware adapter, WASM on a software one or none; `force` overrides): the engine to put in the run's
 * StepWorkspace (null: WASM) and the choice with its one-line reason. A WebGPU device that fails to start gives
 * WASM, saying so.
 */
export async function startReadoutEngine(
  force: ReadoutEngineName | null,
): Promise<{ engine: WebGpuReadoutEngine | null; choice: ReadoutEngineChoice }> {
  try {
    const c = await chooseReadoutEngine(force);
    if (c.engine !== 'webgpu' || !c.device) return { engine: null, choice: { engine: 'wasm', reason: c.reason } };
    const choice = { engine: c.engine, reason: c.reason };
    return { engine: new WebGpuReadoutEngine(c.device, c.reason), choice };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { engine: null, choice: { engine: 'wasm', reason: `readout training on WASM: WebGPU failed (${why})` } };
  }
}
