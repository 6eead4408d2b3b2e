/**
 * An experiment spec run in the browser (the page's Experiments view): the same runner as `v1x experiment`
 * (../runner.ts), on the page's loaded checkpoint, config and scan, independent of the Worker global so that Node
 * can drive it too. The spec's `scan` and `model` paths are not read here: the loaded ones take their place (the
 * view says so). Progress, every finished cell and the results are posted as messages; a stop message ends the run
 * between epochs, keeping the finished cells.
 */
import type { BrowserBackend } from '../../backend/select';
import type { Scan } from '../../io/scan/types';
import { readCheckpoint } from '../../io/torch_checkpoint';
import { parsedConfigOrDefault } from '../../model/config';
import { type CellResult, type ExperimentEvent, type ExperimentResults, runExperiment } from '../runner';
import { parseExperimentSpec } from '../spec';

export interface ExperimentStartMessage {
  type: 'experiment-start';
  /** The spec as parsed JSON (checked again here with parseExperimentSpec). */
  spec: unknown;
  checkpoint: { bytes: Uint8Array; name: string };
  config: unknown | null;
  scan: Scan;
  backend: BrowserBackend | null;
  /** Cells finished before (a resumed run): not rerun. */
  done?: CellResult[];
}

/** After the start message: stop between epochs (finished cells are kept and reported). */
export type ExperimentControlMessage = { type: 'experiment-stop' };

export type ExperimentFromWorker =
  | { type: 'experiment-status'; message: string; backend?: { name: string; reason: string } }
  | { type: 'experiment-event'; event: Exclude<ExperimentEvent, { kind: 'cell-done' }> }
  | { type: 'experiment-cell'; cell: CellResult; index: number; total: number }
  | { type: 'experiment-done'; results: ExperimentResults; stopped: boolean }
  | { type: 'experiment-error'; message: string };

export type ExperimentPost = (m: ExperimentFromWorker) => void;

/** Runs the spec; `stopped()` is polled between epochs and cells. */
export async function runExperimentJob(
  m: ExperimentStartMessage,
  post: ExperimentPost,
  startBackend: (b: BrowserBackend | null) => Promise<{ name: string; reason: string }>,
  stopped: () => boolean = () => false,
): Promise<ExperimentResults> {
  const spec = parseExperimentSpec(m.spec);
  if (spec.scans.length > 1) {
    throw new Error(
      `the spec lists ${spec.scans.length} scans; this page runs a spec on its one loaded scan ` +
        '(run a spec with several scans with v1x experiment)',
    );
  }
  post({ type: 'experiment-status', message: 'starting the compute backend' });
  const backend = await startBackend(m.backend);
  post({ type: 'experiment-status', message: `reading ${m.checkpoint.name}`, backend });
  const config = parsedConfigOrDefault(m.config);
  // as the CLI: a config without input_shape takes the scan's image shape
  if (!config.given.includes('input_shape')) config.config.input_shape = [...m.scan.imageShape];
  const needsCheckpoint = spec.conditions.some((c) => c.core === 'loaded');
  const checkpoint = needsCheckpoint
    ? { stateDict: await readCheckpoint(m.checkpoint.bytes, m.checkpoint.name), file: m.checkpoint.name }
    : null;
  const results = await runExperiment(
    { spec, scans: [m.scan], config, checkpoint },
    {
      done: m.done,
      shouldStop: stopped,
      onEvent: (e) => {
        if (e.kind === 'cell-done') post({ type: 'experiment-cell', cell: e.cell, index: e.index, total: e.total });
        else post({ type: 'experiment-event', event: e });
      },
    },
  );
  post({ type: 'experiment-done', results, stopped: stopped() });
  return results;
}
