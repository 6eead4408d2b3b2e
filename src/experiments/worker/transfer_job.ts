/**
 * One cell of the transfer experiment (../transfer.ts) as the browser runs it, independent of the Worker
 * global so that Node can drive it too: the loaded checkpoint's core frozen ('transfer'), a freshly initialized
 * core of the same configuration frozen ('random'), or a whole model trained on the scan alone ('direct'), with
 * the demo's protocol and the same nested training subsets, seeds and readout starts as `npm run train:demo`.
 */
import type { BrowserBackend } from '../../backend/select';
import type { Scan } from '../../io/scan/types';
import { readCheckpoint } from '../../io/torch_checkpoint';
import { parsedConfigOrDefault } from '../../model/config';
import { newEncoder } from '../../train/end_to_end/new_model';
import { frozenCore, openFrozenCore } from '../../train/frozen_core';
import { DEMO_READOUT_SEEDS, DEMO_TRAINING, directMaxEpochs } from '../demo_recipe';
import {
  cacheForTransfer,
  directCell,
  frozenCoreCell,
  type TransferCell,
  type TransferCondition,
  trainingSubset,
} from '../transfer';

export interface TransferStartMessage {
  type: 'transfer-start';
  checkpoint: { bytes: Uint8Array; name: string };
  config: unknown | null;
  scan: Scan;
  backend: BrowserBackend | null;
  condition: TransferCondition;
  images: number;
  /** The experiment's seed (transfer_results.json 'seed'): subsets use seed + 1000, random cores seed + 2000, direct seed + 3000. */
  seed: number;
}

export type TransferFromWorker =
  | { type: 'transfer-status'; message: string; backend?: { name: string; reason: string } }
  | { type: 'transfer-epoch'; epoch: number; maxEpochs: number; valCorrelation: number; elapsedS: number }
  | { type: 'transfer-done'; cell: TransferCell }
  | { type: 'transfer-error'; message: string };

export type TransferPost = (m: TransferFromWorker) => void;

export async function runTransferCell(
  m: TransferStartMessage,
  post: TransferPost,
  startBackend: (b: BrowserBackend | null) => Promise<{ name: string; reason: string }>,
): Promise<TransferCell> {
  post({ type: 'transfer-status', message: 'starting the compute backend' });
  const backend = await startBackend(m.backend);
  post({ type: 'transfer-status', message: `reading ${m.checkpoint.name}`, backend });
  const parsed = parsedConfigOrDefault(m.config);
  const config = parsed.config;
  const trials = trainingSubset(m.scan, m.images, m.seed + 1000);
  const t0 = performance.now();
  if (m.condition === 'direct') {
    const maxEpochs = directMaxEpochs(m.images);
    post({
      type: 'transfer-status',
      message: `training a core and readout on ${m.images} images (up to ${maxEpochs} epochs)`,
    });
    const cell = await directCell(m.scan, trials, {
      config,
      seed: m.seed + 3000,
      train: { ...DEMO_TRAINING, schedule: { ...DEMO_TRAINING.schedule, maxEpochs } },
      onEvent: (e) => {
        if (e.kind === 'epoch')
          post({
            type: 'transfer-epoch',
            epoch: e.epoch,
            maxEpochs,
            valCorrelation: e.valCorrelation,
            elapsedS: (performance.now() - t0) / 1000,
          });
      },
    });
    post({ type: 'transfer-done', cell });
    return cell;
  }
  const sd = await readCheckpoint(m.checkpoint.bytes, m.checkpoint.name);
  const core =
    m.condition === 'transfer'
      ? await openFrozenCore(sd, parsed, m.checkpoint.name)
      : await frozenCore(newEncoder(config, [], m.seed + 2000));
  try {
    post({
      type: 'transfer-status',
      message: `running the ${m.condition === 'random' ? 'random' : 'loaded'} core over the scan's images`,
    });
    const cache = await cacheForTransfer(core.run, m.scan);
    const maxEpochs = 200;
    // As `npm run train:demo`: several readout starts (seeds seed, seed + 1, ...), keeping the one with the best
    // validation correlation (chosen without the test tier), so a cell reproduces the shipped point.
    let cell: TransferCell | null = null;
    for (let k = 0; k < DEMO_READOUT_SEEDS; k++) {
      post({
        type: 'transfer-status',
        message: `training a readout on ${m.images} images (start ${k + 1} of ${DEMO_READOUT_SEEDS})`,
      });
      const run = await frozenCoreCell(cache, m.scan, trials, {
        condition: m.condition,
        config,
        train: { ...DEMO_TRAINING, schedule: { ...DEMO_TRAINING.schedule, maxEpochs }, seed: m.seed + k },
        onEvent: (e) => {
          if (e.kind === 'epoch')
            post({
              type: 'transfer-epoch',
              epoch: e.epoch,
              maxEpochs,
              valCorrelation: e.valCorrelation,
              elapsedS: (performance.now() - t0) / 1000,
            });
        },
      });
      if (!cell || run.bestValCorrelation > cell.bestValCorrelation) cell = run;
    }
    post({ type: 'transfer-done', cell: cell! });
    return cell!;
  } finally {
    core.dispose();
  }
}
