/**
 * The reference training schedule, replicated step for step: neuralpredictors' `early_stopping` generator
 * (neuralpredictors/training/early_stopping.py) driven by the Sensorium / Lurz `standard_trainer`, with
 * torch's ReduceLROnPlateau beside it.
 *
 * - The objective (validation correlation, maximized) is evaluated once before training; that is the first best.
 * - After each epoch: the scheduler steps with the objective, then early stopping compares it with its best
 *   (improvement: objective > best + tolerance); an improvement snapshots the model and resets the patience count.
 * - `patience` epochs without improvement end a "repeat": the best state is restored (when lr_decay_steps > 1 and
 *   epochs remain) and a new repeat starts with the counter at 0. After `lrDecaySteps` repeats, or `maxEpochs`
 *   epochs, training ends and the best state is restored.
 * - The learning rate is changed only by ReduceLROnPlateau, which keeps its own best (starting at -inf, not at the
 *   pre-training objective) and its own counter that restores do not reset: it decays when the count exceeds
 *   `patience`, i.e. on the 6th bad epoch in a row, which is the first epoch after a restore that fails to improve.
 * - A non-finite objective ends training (best state restored) before the next epoch starts.
 */

export interface ScheduleOptions {
  /** Epochs without improvement before a repeat ends (5). */
  patience: number;
  /** Improvement margin (1e-6), absolute; the scheduler uses it as its threshold too. */
  tolerance: number;
  /** Maximum number of epochs (200 in the reference). */
  maxEpochs: number;
  /** Repeats of the patience cycle, i.e. learning-rate levels tried (3). */
  lrDecaySteps: number;
  lrDecayFactor: number;
  minLr: number;
  /** Restore the best state at the end of each repeat and at the end (true). */
  restoreBest: boolean;
}

export const REFERENCE_SCHEDULE: ScheduleOptions = {
  patience: 5,
  tolerance: 1e-6,
  maxEpochs: 200,
  lrDecaySteps: 3,
  lrDecayFactor: 0.3,
  minLr: 1e-4,
  restoreBest: true,
};

/** torch.optim.lr_scheduler.ReduceLROnPlateau(mode="max", threshold_mode="abs", cooldown=0, eps=1e-8). */
export class ReduceLROnPlateau {
  best = -Infinity;
  numBadEpochs = 0;
  constructor(
    public lr: number,
    readonly factor: number,
    readonly patience: number,
    readonly threshold: number,
    readonly minLr: number,
  ) {}

  /** Returns true when this step reduced the learning rate. */
  step(metric: number): boolean {
    // torch: is_better(a, best) = a > best + threshold (NaN never is)
    if (metric > this.best + this.threshold) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.numBadEpochs > this.patience) {
      this.numBadEpochs = 0;
      const newLr = Math.max(this.lr * this.factor, this.minLr);
      if (this.lr - newLr > 1e-8) {
        this.lr = newLr;
        return true;
      }
    }
    return false;
  }
}

export type ScheduleAction =
  | { kind: 'train'; epoch: number }
  | { kind: 'restore'; reason: 'repeat-end' }
  | { kind: 'done'; reason: 'patience' | 'max-epochs' | 'non-finite-objective'; restoreBest: boolean };

export interface EpochVerdict {
  improved: boolean;
  /** The scheduler reduced the learning rate after this epoch. */
  lrDecayed: boolean;
  lr: number;
  best: number;
  patienceCounter: number;
}

/**
 * Drives a training run: call `begin(objective0)` with the pre-training objective (and snapshot the model),
 * then loop on `next()`: train one epoch on 'train' and pass its objective to `report`; restore the best
 * snapshot on 'restore'; stop on 'done' (restoring when it says so). `report` says when to snapshot.
 */
export class EarlyStoppingSchedule {
  epoch = 0;
  best = NaN;
  current = NaN;
  repeat = 0;
  patienceCounter = 0;
  readonly scheduler: ReduceLROnPlateau;
  private started = false;
  private finished = false;

  constructor(
    readonly opts: ScheduleOptions,
    initialLr: number,
  ) {
    this.scheduler = new ReduceLROnPlateau(initialLr, opts.lrDecayFactor, opts.patience, opts.tolerance, opts.minLr);
  }

  get lr(): number {
    return this.scheduler.lr;
  }

  begin(initialObjective: number): void {
    this.best = this.current = initialObjective;
    this.started = true;
  }

  next(): ScheduleAction {
    if (!this.started) throw new Error('EarlyStoppingSchedule.begin must be called first');
    const o = this.opts;
    while (!this.finished) {
      if (this.repeat >= o.lrDecaySteps) break;
      if (this.patienceCounter < o.patience && this.epoch < o.maxEpochs) {
        if (!Number.isFinite(this.current)) {
          this.finished = true;
          return { kind: 'done', reason: 'non-finite-objective', restoreBest: o.restoreBest };
        }
        this.epoch++;
        return { kind: 'train', epoch: this.epoch };
      }
      // end of a repeat (neuralpredictors: `if (epoch < max_iter) & (lr_decay_steps > 1) & (repeat < lr_decay_steps)`)
      const restore = this.epoch < o.maxEpochs && o.lrDecaySteps > 1 && o.restoreBest;
      this.repeat++;
      this.patienceCounter = 0;
      if (restore) return { kind: 'restore', reason: 'repeat-end' };
    }
    this.finished = true;
    return { kind: 'done', reason: this.epoch >= o.maxEpochs ? 'max-epochs' : 'patience', restoreBest: o.restoreBest };
  }

  /** The objective after an epoch. `improved` means: snapshot the model now. */
  report(objective: number): EpochVerdict {
    this.current = objective;
    const lrDecayed = this.scheduler.step(objective);
    const improved = objective > this.best + this.opts.tolerance;
    if (improved) {
      this.best = objective;
      this.patienceCounter = 0;
    } else {
      this.patienceCounter++;
    }
    return { improved, lrDecayed, lr: this.lr, best: this.best, patienceCounter: this.patienceCounter };
  }
}
