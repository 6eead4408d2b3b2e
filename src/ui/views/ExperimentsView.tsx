/**
 * Experiments (issue 13): the papers' comparisons (Lurz et al. 2021 Figs. 3-5, in miniature) as experiment specs
 * run by the same runner as `v1x experiment` (src/experiments/runner.ts), in a Web Worker. Pick a preset (the
 * demo's, with the results shipped for it) or edit the spec's JSON (checked as you type, with the runner's own
 * messages), run it on the loaded model and scan, and watch the means and 95% intervals fill in as cells finish;
 * download the results as JSON or CSV. Beside it, the readout parameter-count table.
 */
import { useMemo, useState } from 'react';
import { type CellResult, cellCount, cellsCsv, experimentResults, SELECTION_RULE } from '../../experiments/runner';
import type { ExperimentSpec } from '../../experiments/spec';
import { checkSpecText } from '../../state/slices/transfer_slice';
import { useStore } from '../../state/store';
import { ErrorBanner } from '../components/ErrorBanner';
import { ExperimentLegend, ExperimentPlot, METRIC_LABEL, type PlotMetric } from './experiments/ExperimentPlot';
import { ParamTable } from './experiments/ParamTable';
import { PRESETS } from './experiments/presets';
import { SummaryTable } from './experiments/SummaryTable';
import './experiments/experiments.css';

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function ExperimentsView() {
  const model = useStore((s) => s.model);
  const scan = useStore((s) => s.scan);
  const text = useStore((s) => s.experimentSpecText);
  const setText = useStore((s) => s.setExperimentSpecText);
  const run = useStore((s) => s.experimentRun);
  const error = useStore((s) => s.experimentError);
  const start = useStore((s) => s.runExperimentSpec);
  const stop = useStore((s) => s.stopExperiment);
  const [presetId, setPresetId] = useState(PRESETS[0]?.id ?? '');
  const [metric, setMetric] = useState<PlotMetric>('fraction_oracle');
  const [show, setShow] = useState<'shipped' | 'page'>('shipped');
  const preset = PRESETS.find((p) => p.id === presetId) ?? null;
  // the editor starts with the first preset's spec
  const editorText = text || preset?.text || '';
  const checked = useMemo(() => checkSpecText(editorText), [editorText]);
  // a spec over several scans (e.g. matched scans sharing features) runs in the CLI only
  const severalScans = (checked.spec?.scans.length ?? 1) > 1;
  const running = run?.status === 'running' || run?.status === 'stopping';

  // what the plot shows: the page's run, or the shipped results of the chosen preset
  let shown: { spec: ExperimentSpec; cells: CellResult[]; label: string; neurons: number | null } | null = null;
  if (run && (show === 'page' || running)) {
    shown = { spec: run.spec, cells: run.cells, label: `run on this page (${run.on})`, neurons: null };
  } else if (preset?.shipped) {
    const s = preset.shipped;
    shown = {
      spec: s.spec,
      cells: s.cells,
      label: `shipped results of ${preset.id}.json (v1x experiment)${s.complete ? '' : ', incomplete'}`,
      neurons: s.neurons,
    };
  }

  const readout =
    model?.architecture.readouts.find((r) => r.key === model.readoutKey) ?? model?.architecture.readouts[0] ?? null;
  const [c, h, w] = model?.architecture.core.outputShape ?? [0, 0, 0];

  const downloadResults = (kind: 'json' | 'csv') => {
    if (!shown) return;
    const name = shown.spec.name;
    if (kind === 'csv') {
      download(`${name}.results.csv`, cellsCsv(shown.cells), 'text/csv');
      return;
    }
    const pageResults =
      run && shown.cells === run.cells
        ? (run.results ?? experimentResults(run.spec, run.cells, false, scan?.nNeurons ?? 0))
        : (preset?.shipped?.raw ?? null);
    if (pageResults) download(`${name}.results.json`, `${JSON.stringify(pageResults, null, 1)}\n`, 'application/json');
  };

  return (
    <section className="panel" aria-labelledby="experiments-title" data-testid="experiments-view">
      <h2 id="experiments-title">Experiments: does a core learned on other mice help with a new one?</h2>
      <div className="transfer-layout">
        <div className="transfer-main">
          <p className="small transfer-explainer" data-testid="experiments-explainer">
            The demo's core was trained on four other simulated mice; the held-out animal's neurons were never part of
            it. For each number of training images an experiment fits only a new readout on that frozen core (transfer),
            the same readout on a core with random weights (random: the floor, what the readout alone can do with
            unlearned features), or a whole new model trained on this animal directly (direct). Other presets train a
            core on half of one animal's neurons and transfer it to the other half (neuron split, Lurz Fig. 4) or
            compare the Gaussian readout with the factorized one (Fig. 3). The y axis is the fraction of the best
            achievable correlation (the oracle) reached on held-out test images; each point is the mean over seeds with
            its 95% interval, each small dot one seed. Where the intervals of two conditions do not overlap, the
            difference is larger than the spread over initializations; where they overlap, these runs cannot tell the
            conditions apart.
          </p>
          <div className="experiment-controls small">
            <label>
              Preset{' '}
              <select
                value={presetId}
                data-testid="experiment-preset"
                onChange={(e) => {
                  const p = PRESETS.find((q) => q.id === e.target.value);
                  setPresetId(e.target.value);
                  if (p) setText(p.text);
                  if (!running) setShow('shipped');
                }}
              >
                {PRESETS.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.spec.name} ({p.id}.json{p.shipped ? ', shipped results' : ''})
                  </option>
                ))}
              </select>
            </label>{' '}
            <label>
              Plot{' '}
              <select
                value={metric}
                data-testid="experiment-metric"
                onChange={(e) => setMetric(e.target.value as PlotMetric)}
              >
                {(Object.keys(METRIC_LABEL) as PlotMetric[]).map((m) => (
                  <option key={m} value={m}>
                    {METRIC_LABEL[m]}
                  </option>
                ))}
              </select>
            </label>{' '}
            {run && !running && (
              <label>
                Show{' '}
                <select
                  value={show}
                  data-testid="experiment-show"
                  onChange={(e) => setShow(e.target.value as 'shipped' | 'page')}
                >
                  <option value="page">the run on this page</option>
                  <option value="shipped" disabled={!preset?.shipped}>
                    the preset's shipped results
                  </option>
                </select>
              </label>
            )}
          </div>
          {shown ? (
            <>
              <p className="muted small" data-testid="experiment-shown">
                {shown.spec.name}: {shown.label}
                {shown.neurons !== null ? `, ${shown.neurons} neurons` : ''}, {shown.cells.length} of{' '}
                {cellCount(shown.spec)} cells.
              </p>
              <ExperimentPlot spec={shown.spec} cells={shown.cells} metric={metric} />
              <ExperimentLegend spec={shown.spec} />
              <SummaryTable spec={shown.spec} cells={shown.cells} metric={metric} />
              <p className="small">
                <button
                  type="button"
                  className="button button-secondary"
                  data-testid="experiment-download-json"
                  onClick={() => downloadResults('json')}
                >
                  Download results (JSON)
                </button>{' '}
                <button
                  type="button"
                  className="button button-secondary"
                  data-testid="experiment-download-csv"
                  onClick={() => downloadResults('csv')}
                >
                  Download cells (CSV)
                </button>
              </p>
            </>
          ) : (
            <p className="muted small" data-testid="experiment-nothing">
              No results to show for this preset yet: run it here, or with <code>v1x experiment</code>.
            </p>
          )}
          <details className="small">
            <summary>Selection rule and intervals</summary>
            <p>{SELECTION_RULE}.</p>
          </details>
        </div>
        <div className="transfer-side">
          {model && readout ? (
            <ParamTable
              input={{
                neurons: scan?.nNeurons ?? model.neurons,
                channels: readout.channels || c,
                width: w,
                height: h,
                positionNetwork: readout.positionNetwork,
              }}
              neuronsFrom={scan ? `the scan ${scan.name}` : `readout ${model.readoutKey}`}
              loaded={model.architecture.readouts.find((r) => r.key === model.readoutKey) ?? null}
            />
          ) : (
            <p className="muted small">Load a model to see its readout's parameter counts.</p>
          )}
        </div>
      </div>

      <h3>Run a spec here</h3>
      <p className="small muted">
        The spec is what <code>v1x experiment</code> reads (README, Experiments). On this page its <code>scan</code> and{' '}
        <code>model</code> are not read: it runs on the loaded{' '}
        {model && scan ? `${model.source.checkpointName} and ${scan.name}` : 'checkpoint and scan'}, in a background
        worker. Direct cells train a whole model and take minutes each; the demo presets take hours in a browser (the
        quick check, a minute or two).
      </p>
      <textarea
        className="experiment-spec"
        data-testid="experiment-spec"
        aria-label="Experiment spec (JSON)"
        spellCheck={false}
        rows={16}
        value={editorText}
        onChange={(e) => setText(e.target.value)}
      />
      {checked.spec === null ? (
        <p className="small experiment-spec-error" role="alert" data-testid="experiment-spec-error">
          {checked.error}
        </p>
      ) : (
        <p className="small muted" data-testid="experiment-spec-ok">
          {checked.spec.conditions.length} conditions ({checked.spec.conditions.map((x) => x.name).join(', ')}) ×{' '}
          {checked.spec.sizes.length} sizes × {checked.spec.seeds.length} seeds
          {checked.spec.partitions ? ` × ${checked.spec.partitions.length} partitions` : ''} = {cellCount(checked.spec)}{' '}
          cells.
          {severalScans &&
            ` It lists ${checked.spec.scans.length} scans: this page runs a spec on its one loaded scan, so run it with v1x experiment (its shipped results are plotted above).`}
        </p>
      )}
      <div className="transfer-progress small" data-testid="experiment-progress" aria-live="polite">
        <button
          type="button"
          className="button"
          data-testid="experiment-run"
          disabled={!model || !scan || !!checked.error || severalScans || running}
          onClick={() => {
            if (!text && editorText) setText(editorText);
            setShow('page');
            start();
          }}
        >
          Run
        </button>
        {running && (
          <button type="button" className="button-quiet" data-testid="experiment-stop" onClick={stop}>
            Stop
          </button>
        )}
        {run && (
          <span data-testid="experiment-status" data-status={run.status}>
            {run.status}: {run.cells.length} of {cellCount(run.spec)} cells
            {run.progress &&
              ` · cell ${run.progress.index}: ${run.progress.condition}, ${run.progress.size} images, seed ${run.progress.seed}` +
                (run.progress.maxEpochs > 0
                  ? ` · epoch ${run.progress.epoch} of at most ${run.progress.maxEpochs}`
                  : '') +
                (run.progress.valCorrelation !== null
                  ? ` · validation correlation ${run.progress.valCorrelation.toFixed(3)}`
                  : '')}
            {!run.progress && ` · ${run.message}`}
            {run.backend && ` · ${run.backend}`}
          </span>
        )}
        {running && run.progress && run.progress.maxEpochs > 0 && (
          <progress
            max={run.progress.maxEpochs}
            value={run.progress.epoch}
            aria-label="epochs of this cell (early stopping may end sooner)"
          />
        )}
      </div>
      {!model || !scan ? (
        <p className="muted small" data-testid="experiment-needs">
          Load a checkpoint and a scan (the demo loads both) to run a spec in this browser.
        </p>
      ) : null}
      <ErrorBanner
        message={error}
        onDismiss={() => useStore.setState({ experimentError: null })}
        testId="experiment-error"
      />
    </section>
  );
}
