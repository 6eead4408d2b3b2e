/**
 * The Experiments view's run: the spec being edited (JSON text), and one experiment run at a time in its own Web
 * Worker (services/workers.ts; the worker runs the same runner as `v1x experiment`). Finished cells arrive one by
 * one and are kept with the run, so the plot fills in as they come; Stop ends the run between epochs and keeps them.
 * (The file keeps its name from the Transfer view it replaces; store.ts composes it as createTransferSlice.)
 */
import type { StateCreator } from 'zustand';
import type { BrowserBackend } from '../../backend/select';
import type { CellResult, ExperimentResults } from '../../experiments/runner';
import { type ExperimentSpec, parseExperimentSpec } from '../../experiments/spec';
import type { ExperimentFromWorker, ExperimentStartMessage } from '../../experiments/worker/experiment_job';
import { type ExperimentWorker, startExperimentWorker } from '../services/workers';
import type { AppState } from '../store';

export interface ExperimentProgress {
  condition: string;
  size: number;
  seed: number;
  /** 1-based index of the cell among all the spec's cells. */
  index: number;
  total: number;
  epoch: number;
  maxEpochs: number;
  valCorrelation: number | null;
}

export interface ExperimentRun {
  spec: ExperimentSpec;
  /** Model and scan the run used (the spec's paths are not read on the page). */
  on: string;
  status: 'running' | 'stopping' | 'done' | 'stopped' | 'failed';
  message: string;
  /** Cells finished so far, in the order they finished. */
  cells: CellResult[];
  progress: ExperimentProgress | null;
  /** The runner's results when it ends (done or stopped). */
  results: ExperimentResults | null;
  startedAt: number;
  backend: string | null;
}

export interface TransferSlice {
  /** The spec in the editor, as typed. */
  experimentSpecText: string;
  experimentRun: ExperimentRun | null;
  experimentError: string | null;
  setExperimentSpecText(text: string): void;
  /** Parses the editor's spec and runs it on the loaded model and scan. */
  runExperimentSpec(): void;
  stopExperiment(): void;
}

/** The live worker; module-level because it is not state to render or persist. */
let worker: ExperimentWorker | null = null;

function finish(): void {
  worker?.terminate();
  worker = null;
}

/** The spec text parsed, or the message that says what is wrong (JSON syntax or parseExperimentSpec's). */
export function checkSpecText(text: string): { spec: ExperimentSpec; error: null } | { spec: null; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { spec: null, error: `not JSON: ${(e as Error).message}` };
  }
  try {
    return { spec: parseExperimentSpec(json), error: null };
  } catch (e) {
    return { spec: null, error: (e as Error).message };
  }
}

export const createTransferSlice: StateCreator<AppState, [], [], TransferSlice> = (set, get) => ({
  experimentSpecText: '',
  experimentRun: null,
  experimentError: null,

  setExperimentSpecText(text) {
    set({ experimentSpecText: text });
  },

  runExperimentSpec() {
    const { model, scan, backend } = get();
    if (!model || !scan) {
      set({ experimentError: 'load a checkpoint and a scan first (the demo loads both)' });
      return;
    }
    const run = get().experimentRun;
    if (run && (run.status === 'running' || run.status === 'stopping')) return;
    const checked = checkSpecText(get().experimentSpecText);
    if (!checked.spec) {
      set({ experimentError: `the spec cannot run: ${checked.error}` });
      return;
    }
    const spec = checked.spec;
    const update = (f: (r: ExperimentRun) => Partial<ExperimentRun>) => {
      const r = get().experimentRun;
      if (r) set({ experimentRun: { ...r, ...f(r) } });
    };
    set({
      experimentError: null,
      experimentRun: {
        spec,
        on: `${model.source.checkpointName} on ${scan.name}`,
        status: 'running',
        message: 'starting the worker',
        cells: [],
        progress: null,
        results: null,
        startedAt: Date.now(),
        backend: null,
      },
    });
    const fail = (message: string) => {
      finish();
      update(() => ({ status: 'failed', message, progress: null }));
      set({ experimentError: message });
    };
    void model.source.checkpointFile.arrayBuffer().then(
      (buf) => {
        if (get().experimentRun?.status !== 'running') return; // stopped while reading
        const start: ExperimentStartMessage = {
          type: 'experiment-start',
          spec: JSON.parse(get().experimentSpecText),
          checkpoint: { bytes: new Uint8Array(buf), name: model.source.checkpointName },
          config: model.source.configJson,
          scan,
          backend: (backend?.backend ?? null) as BrowserBackend | null,
        };
        const w = startExperimentWorker(
          start,
          (m: ExperimentFromWorker) => {
            if (worker !== w) return;
            switch (m.type) {
              case 'experiment-status':
                update(() => ({ message: m.message, ...(m.backend ? { backend: m.backend.name } : {}) }));
                return;
              case 'experiment-event': {
                const e = m.event;
                if (e.kind === 'status') update(() => ({ message: e.message }));
                else if (e.kind === 'cell-start') {
                  update(() => ({
                    message: `${e.condition}, ${e.size} images, seed ${e.seed}`,
                    progress: { ...e, epoch: 0, maxEpochs: 0, valCorrelation: null },
                  }));
                } else if (e.kind === 'epoch') {
                  update((r) => ({
                    progress: r.progress && {
                      ...r.progress,
                      epoch: e.epoch,
                      maxEpochs: e.maxEpochs,
                      valCorrelation: e.valCorrelation,
                    },
                  }));
                }
                return;
              }
              case 'experiment-cell':
                update((r) => ({ cells: [...r.cells, m.cell] }));
                return;
              case 'experiment-done':
                finish();
                update(() => ({
                  status: m.stopped ? 'stopped' : 'done',
                  results: m.results,
                  cells: m.results.cells,
                  progress: null,
                  message: m.stopped
                    ? `stopped: ${m.results.cells.length} cells finished`
                    : `done: ${m.results.cells.length} cells`,
                }));
                return;
              case 'experiment-error':
                fail(m.message);
                return;
            }
          },
          fail,
        );
        // Messages and failures arrive as events, after this line: the handler above sees this worker as the live one.
        worker = w;
      },
      (err: unknown) => fail(`could not read ${model.source.checkpointName}: ${String(err)}`),
    );
  },

  stopExperiment() {
    const r = get().experimentRun;
    if (r?.status !== 'running') return;
    if (!worker) {
      set({ experimentRun: { ...r, status: 'stopped', message: 'stopped', progress: null } });
      return;
    }
    worker.post({ type: 'experiment-stop' });
    set({ experimentRun: { ...r, status: 'stopping', message: 'stopping after this epoch' } });
  },
});
