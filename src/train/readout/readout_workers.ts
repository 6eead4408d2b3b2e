/**
 * The readout's steps and predictions spread over worker threads (data parallel), as the trainer sees them.
 * Each worker holds a share of the feature cache's blocks and a copy of the readout; for a batch, every worker
 * computes the loss and gradients of the batch images it holds, and their sum is the whole batch's gradient (the
 * loss is a sum over images; the regularizer is added by one worker only). The trainer then takes the Adam step
 * here, with the same numbers as on one thread up to the order of the sums. Implemented over the core pool's
 * workers by worker/readout_shards.ts (the page's Web Workers and Node's worker threads alike).
 */
import type { LossName } from '../../model/output_loss';
import type { TrainableReadout } from '../../model/readout_types';
import type { Param } from './readout_params';
import type { StepResult } from './readout_step';

export interface WorkerStepInput {
  readout: TrainableReadout;
  /** readoutParams(readout): gradients are overwritten with the whole batch's. */
  params: Param[];
  /** The batch's scan trials (all in the lent cache), in batch order. */
  trials: ArrayLike<number>;
  /** (B, N) normalized responses. */
  targets: Float32Array;
  /** (B, N, 2) standard-normal draws of a Gaussian readout's positions; null for a factorized one. */
  noise: Float32Array | null;
  lossScale: number;
  gammaReadout: number;
  logEps: number;
  loss: LossName;
}

export interface ReadoutWorkers {
  /** How many workers share the steps, and what they are (shown with the training status). */
  readonly threads: number;
  readonly description: string;
  step(s: WorkerStepInput): Promise<StepResult>;
  /** Eval-mode predictions (trials x neurons) of cached trials, each computed where its map is held. */
  predict(readout: TrainableReadout, trials: ArrayLike<number>): Promise<Float32Array>;
}
