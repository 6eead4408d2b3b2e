/** Progress lines on stderr for the commands that train (finetune, train): every epoch, restores, a batch every 10 s. */
import type { EndToEndEvent } from '../train/end_to_end/trainer';
import type { TrainEvent } from '../train/readout/trainer';

export function trainingProgressLogger(log: (line: string) => void): (e: TrainEvent | EndToEndEvent) => void {
  let lastBatchLog = performance.now();
  return (e) => {
    if (e.kind === 'epoch') {
      log(
        `epoch ${e.epoch}: loss ${Number.isFinite(e.loss) ? e.loss.toFixed(1) : '-'}, validation correlation ${e.valCorrelation.toFixed(4)}` +
          `${e.improved ? ' (best)' : ''}, lr ${e.lr}${e.lrDecayed ? ` -> ${e.nextLr}` : ''}, ${e.epochS.toFixed(1)} s` +
          (e.epoch > 0 ? `, ${e.imagesPerS.toFixed(0)} images/s` : ''),
      );
    } else if (e.kind === 'restore') {
      log(`epoch ${e.epoch}: no improvement for a while, back to the best state (${e.bestValCorrelation.toFixed(4)})`);
    } else if (performance.now() - lastBatchLog > 10_000) {
      lastBatchLog = performance.now();
      log(
        `epoch ${e.epoch} batch ${e.batch}/${e.batches}: loss ${e.loss.toFixed(1)}, at least ${e.remainingS.toFixed(0)} s left`,
      );
    }
  };
}
