/**
 * The shared epoch driver on its own, with a scripted objective and a one-number "model": the event sequence of
 * a run with restores (neuralpredictors restores at the end of the last repeat too) and a decay, the state left
 * at the best snapshot, the trainer's extra fields placed right after valCorrelation, and the stops (NaN loss restores even with restoreBest off; a stop during validation
 * emits no epoch event; a NaN objective ends the run).
 */
import { describe, expect, it } from 'vitest';
import { TrainingControl } from '../../../src/train/optim/control';
import {
  driveEpochs,
  type EpochContext,
  type EpochDriverOptions,
  type EpochOutcome,
} from '../../../src/train/optim/epoch_driver';
import { REFERENCE_SCHEDULE, type ScheduleOptions } from '../../../src/train/optim/schedule';

/** A fake trainer: each epoch adds 1 to `state`; validation returns the scripted objectives in order. */
function scripted(
  objectives: number[],
  schedule: Partial<ScheduleOptions>,
  runEpoch?: (ctx: EpochContext, t: { state: number }) => EpochOutcome,
) {
  const t = { state: 0, validations: 0, events: [] as string[], lrs: [] as number[] };
  const control = new TrainingControl();
  const options: EpochDriverOptions<{ call: number }, number> = {
    schedule: { ...REFERENCE_SCHEDULE, ...schedule },
    lr: 0.01,
    control,
    startedAt: performance.now(),
    validate: async () => ({ objective: objectives[t.validations], extra: { call: t.validations++ } }),
    runEpoch: async (ctx) => {
      t.lrs.push(ctx.lr);
      if (runEpoch) return runEpoch(ctx, t);
      t.state++;
      const timing = ctx.batchTiming(1, 1);
      expect(timing.remainingS).toBeGreaterThanOrEqual(0);
      return { kind: 'trained', loss: 10 - ctx.epoch, imagesPerS: 1 };
    },
    snapshot: () => t.state,
    restore: (s) => {
      t.state = s;
    },
    onEvent: (e) =>
      t.events.push(
        e.kind === 'epoch'
          ? `epoch ${e.epoch}${e.improved ? '+' : ''}${e.lrDecayed ? ' decay' : ''}`
          : `restore ${e.epoch}`,
      ),
  };
  return { t, control, options };
}

describe('driveEpochs', () => {
  it('runs the schedule: restores at the ends of repeats, decays, ends at the best state', async () => {
    const { t, options } = scripted([0.1, 0.2, 0.3, 0.25, 0.25, 0.25, 0.25], { patience: 2, lrDecaySteps: 2 });
    const run = await driveEpochs(options);
    expect(t.events).toEqual([
      'epoch 0',
      'epoch 1+',
      'epoch 2+',
      'epoch 3',
      'epoch 4',
      'restore 4',
      'epoch 5 decay',
      'epoch 6',
      'restore 6',
    ]);
    expect(t.lrs).toEqual([0.01, 0.01, 0.01, 0.01, 0.01, 0.01 * 0.3]); // decayed after epoch 5
    expect(run.stopReason).toBe('patience');
    expect(run.epochs).toBe(6);
    expect(run.bestValCorrelation).toBe(0.3);
    expect(t.state).toBe(2); // the model after epoch 2, the best
    expect(run.history.map((e) => e.loss).slice(1)).toEqual([9, 8, 7, 6, 5, 4]);
    expect(Object.keys(run.history[1]).slice(0, 5)).toEqual(['kind', 'epoch', 'loss', 'valCorrelation', 'call']);
    expect(run.history[3]).toMatchObject({
      epoch: 3,
      valCorrelation: 0.25,
      bestValCorrelation: 0.3,
      improved: false,
      patienceCounter: 1,
      call: 3,
    });
    expect(run.message).toMatch(/^converged after 6 epochs/);
  });

  it('a NaN loss stops with the best state even when restoreBest is off', async () => {
    const { t, options } = scripted([0.1, 0.5, 0.4], { restoreBest: false }, (ctx, s) => {
      s.state++;
      return ctx.epoch === 3
        ? { kind: 'stop', reason: 'non-finite-loss' }
        : { kind: 'trained', loss: 1, imagesPerS: 1 };
    });
    const run = await driveEpochs(options);
    expect(run.stopReason).toBe('non-finite-loss');
    expect(run.epochs).toBe(2);
    expect(t.state).toBe(1);
  });

  it("a stop requested during validation ends the run without that epoch's event", async () => {
    const { t, control, options } = scripted([0.1, 0.2, 0.3], {});
    const validate = options.validate;
    options.validate = async () => {
      const v = await validate();
      if (v.extra.call === 2) control.stop();
      return v;
    };
    const run = await driveEpochs(options);
    expect(run.stopReason).toBe('stopped');
    expect(t.events).toEqual(['epoch 0', 'epoch 1+']);
    expect(t.state).toBe(1); // epoch 2 trained, then restored to epoch 1
  });

  it('a non-finite objective ends the run before the next epoch', async () => {
    const { t, options } = scripted([0.1, Number.NaN], {});
    const run = await driveEpochs(options);
    expect(run.stopReason).toBe('non-finite-objective');
    expect(t.events).toEqual(['epoch 0', 'epoch 1']);
    expect(t.state).toBe(0);
    expect(run.bestValCorrelation).toBe(0.1);
  });
});
