/**
 * The epoch-level driver of the Sensorium / Lurz `standard_trainer`, shared by the readout trainer on cached core
 * features (trainer.ts) and the end-to-end trainer (end_to_end/trainer.ts): the validation objective before training
 * (the epoch-0 event), then epochs as neuralpredictors' `early_stopping` and ReduceLROnPlateau (schedule.ts)
 * decide, a snapshot of the best state on every improvement, the best state restored at the end of a repeat and
 * at the end, a stop on a non-finite objective or loss, pause/resume/stop between batches (control.ts), and the
 * elapsed / remaining-time estimates of the progress events.
 *
 * What differs between the trainers is passed in: one epoch's batches (`runEpoch`, which emits its own batch
 * events, since their shapes differ), the validation (with extra fields for the epoch event, e.g. per scan),
 * and snapshot / restore of their own state. Nothing here draws random numbers or touches parameters, so the
 * trainers compute exactly what they computed when each had its own copy of this loop.
 */
import type { TrainingControl } from './control';
import { EarlyStoppingSchedule, type ScheduleOptions } from './schedule';

export interface EpochEvent {
  kind: 'epoch';
  epoch: number;
  /** Mean training loss per batch over the epoch (NaN for epoch 0, the evaluation before training). */
  loss: number;
  /** The early-stopping objective: the validation correlation. */
  valCorrelation: number;
  bestValCorrelation: number;
  improved: boolean;
  /** Learning rate used in this epoch. */
  lr: number;
  /** Learning rate for the next epoch (lower after a decay). */
  nextLr: number;
  lrDecayed: boolean;
  patienceCounter: number;
  elapsedS: number;
  /** Estimated seconds left: this epoch's duration times the fewest epochs the schedule can still run. */
  remainingS: number;
  /** Seconds this epoch took (training and validation). */
  epochS: number;
  /** Training images per second in this epoch (what the trainer counts as training; NaN for epoch 0). */
  imagesPerS: number;
}

export interface RestoreEvent {
  kind: 'restore';
  epoch: number;
  bestValCorrelation: number;
  reason: string;
}

export type StopReason = 'patience' | 'max-epochs' | 'non-finite-objective' | 'non-finite-loss' | 'stopped';

/** What one epoch's batches report back: their mean loss and speed, or why training must stop now. */
export type EpochOutcome =
  | { kind: 'trained'; loss: number; imagesPerS: number }
  | { kind: 'stop'; reason: 'non-finite-loss' | 'stopped' };

/** Handed to `runEpoch`. */
export interface EpochContext {
  epoch: number;
  /** The schedule's learning rate for this epoch (the trainer sets its optimizer's). */
  lr: number;
  /** The latest validation objective (the previous epoch's, or the one before training). */
  objective: number;
  /** For a batch event after `done` of `batches` batches: seconds since the start and the estimate of those left. */
  batchTiming(done: number, batches: number): { elapsedS: number; remainingS: number };
  /** Pause / stop point between batches: false means return `{ kind: 'stop', reason: 'stopped' }`. */
  checkpoint(): Promise<boolean>;
}

export interface EpochDriverOptions<X extends object, Snapshot> {
  schedule: ScheduleOptions;
  /** Initial learning rate. */
  lr: number;
  control: TrainingControl;
  /** performance.now() at the start of the run: elapsed times count from it (the trainers' set-up included). */
  startedAt: number;
  /** The objective (eval mode) and the trainer's extra epoch-event fields, placed right after valCorrelation. */
  validate(): Promise<{ objective: number; extra: X }>;
  /** Runs one epoch's batches (and emits their events). */
  runEpoch(ctx: EpochContext): Promise<EpochOutcome>;
  snapshot(): Snapshot;
  restore(s: Snapshot): void;
  onEvent?: (e: (EpochEvent & X) | RestoreEvent) => void;
}

export interface DrivenRun<X extends object> {
  history: (EpochEvent & X)[];
  stopReason: StopReason;
  /** A sentence for the user. */
  message: string;
  epochs: number;
  bestValCorrelation: number;
  elapsedS: number;
}

/** Runs the schedule to its end, leaving the trainer's state at the best snapshot when restoring. */
export async function driveEpochs<X extends object, Snapshot>(
  d: EpochDriverOptions<X, Snapshot>,
): Promise<DrivenRun<X>> {
  const { control, onEvent } = d;
  const elapsed = (): number => (performance.now() - d.startedAt) / 1000;
  const schedule = new EarlyStoppingSchedule(d.schedule, d.lr);
  const history: (EpochEvent & X)[] = [];
  // the last full epoch's duration: the remaining-time estimate's unit once one epoch has run
  let epochSeconds = NaN;

  const minEpochsLeft = (): number => {
    const s = d.schedule;
    const left =
      Math.max(0, s.patience - schedule.patienceCounter) +
      Math.max(0, s.lrDecaySteps - schedule.repeat - 1) * s.patience;
    return Math.min(left, s.maxEpochs - schedule.epoch);
  };

  const v0 = await d.validate();
  schedule.begin(v0.objective);
  let best = d.snapshot();
  const e0: EpochEvent & X = {
    kind: 'epoch',
    epoch: 0,
    loss: NaN,
    valCorrelation: v0.objective,
    ...v0.extra,
    bestValCorrelation: v0.objective,
    improved: false,
    lr: d.lr,
    nextLr: d.lr,
    lrDecayed: false,
    patienceCounter: 0,
    elapsedS: elapsed(),
    remainingS: NaN,
    epochS: 0,
    imagesPerS: NaN,
  };
  history.push(e0);
  onEvent?.(e0);

  let stopReason: StopReason;
  let restoreAtEnd: boolean;
  for (;;) {
    const action = schedule.next();
    if (action.kind === 'done') {
      stopReason = action.reason;
      restoreAtEnd = action.restoreBest;
      break;
    }
    if (action.kind === 'restore') {
      d.restore(best);
      onEvent?.({
        kind: 'restore',
        epoch: schedule.epoch,
        bestValCorrelation: schedule.best,
        reason: 'no improvement for patience epochs: back to the best state',
      });
      continue;
    }
    const epoch = action.epoch;
    const lr = schedule.lr;
    const te = performance.now();
    const outcome = await d.runEpoch({
      epoch,
      lr,
      objective: schedule.current,
      checkpoint: () => control.checkpoint(),
      batchTiming: (done, batches) => {
        const perBatch = (performance.now() - te) / 1000 / done;
        const epochEstimate = Number.isFinite(epochSeconds) ? epochSeconds : perBatch * batches * 1.1;
        return {
          elapsedS: elapsed(),
          remainingS: perBatch * (batches - done) + epochEstimate * Math.max(0, minEpochsLeft() - 1),
        };
      },
    });
    // a NaN loss or a stop request ends training with the best state, whatever restoreBest says
    if (outcome.kind === 'stop') {
      stopReason = outcome.reason;
      restoreAtEnd = true;
      break;
    }
    const val = await d.validate();
    if (control.stopRequested) {
      stopReason = 'stopped';
      restoreAtEnd = true;
      break;
    }
    const verdict = schedule.report(val.objective);
    if (verdict.improved) best = d.snapshot();
    epochSeconds = (performance.now() - te) / 1000;
    const ep: EpochEvent & X = {
      kind: 'epoch',
      epoch,
      loss: outcome.loss,
      valCorrelation: val.objective,
      ...val.extra,
      bestValCorrelation: verdict.best,
      improved: verdict.improved,
      lr,
      nextLr: verdict.lr,
      lrDecayed: verdict.lrDecayed,
      patienceCounter: verdict.patienceCounter,
      elapsedS: elapsed(),
      remainingS: epochSeconds * minEpochsLeft(),
      epochS: epochSeconds,
      imagesPerS: outcome.imagesPerS,
    };
    history.push(ep);
    onEvent?.(ep);
  }
  if (restoreAtEnd) d.restore(best);
  const bestVal = Number.isFinite(schedule.best) ? schedule.best : NaN;
  return {
    history,
    stopReason,
    message: stopMessage(stopReason, schedule.epoch, bestVal),
    epochs: history.length - 1,
    bestValCorrelation: bestVal,
    elapsedS: elapsed(),
  };
}

function stopMessage(reason: StopReason, epoch: number, best: number): string {
  const b = `best validation correlation ${best.toFixed(4)}`;
  switch (reason) {
    case 'patience':
      return `converged after ${epoch} epochs (no improvement after the last learning-rate decay); ${b}`;
    case 'max-epochs':
      return `reached the maximum of ${epoch} epochs; ${b}`;
    case 'non-finite-objective':
      return `stopped at epoch ${epoch}: the validation correlation is not finite; kept the best state (${b})`;
    case 'non-finite-loss':
      return `stopped at epoch ${epoch}: the training loss became NaN or infinite; kept the best state (${b})`;
    case 'stopped':
      return `stopped by request at epoch ${epoch}; kept the best state (${b})`;
  }
}
