/**
 * Fine-tuning a new readout for the scan's neurons on the loaded model's frozen core (optionally the core too):
 * the readout type (Gaussian, the default, or factorized), hyper-parameters with the Lurz 2020 / Sensorium defaults,
 * start / pause / stop, progress with time remaining, live curves, results and downloads.
 */

import { useMemo } from 'react';
import { LOSS_NAMES, type LossName, OUTPUT_NONLINEARITIES, type OutputNonlinearity } from '../../model/output_loss';
import type { ReadoutKind } from '../../model/readout_types';
import { configDefaults, type TrainingSettings, trainingPlan } from '../../state/slices/training_slice';
import { useStore } from '../../state/store';
import { ChoiceSelect } from '../components/ChoiceSelect';
import { ErrorBanner } from '../components/ErrorBanner';
import { FineTuneMemoryNote } from '../components/FineTuneMemoryNote';
import { TrainingAdvanced } from './TrainingAdvanced';
import { TrainingCurves } from './TrainingCurves';

const LOSS_LABELS: Record<LossName, string> = {
  poisson: 'Poisson',
  mse: 'MSE',
  gaussian: 'Gaussian, variance = mean + 1',
};
const OUTPUT_LABELS: Record<OutputNonlinearity, string> = {
  elu: 'elu + 1',
  softplus: 'softplus',
  identity: 'identity',
};

const RUNNING = new Set(['loading', 'caching', 'training', 'paused', 'evaluating', 'exporting']);

function duration(s: number): string {
  if (!Number.isFinite(s)) return '…';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
}

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function download(blob: Blob | string, name: string): void {
  const url = URL.createObjectURL(typeof blob === 'string' ? new Blob([blob], { type: 'text/plain' }) : blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const FIELDS: Array<{ key: keyof TrainingSettings; label: string; step: number; min: number; kind?: ReadoutKind }> = [
  { key: 'lr', label: 'learning rate', step: 0.001, min: 0 },
  { key: 'batchSize', label: 'batch size', step: 1, min: 1 },
  { key: 'maxEpochs', label: 'max epochs', step: 1, min: 1 },
  { key: 'gammaReadout', label: 'feature L1 (γ readout)', step: 0.0001, min: 0, kind: 'gaussian' },
  { key: 'factorizedRegWeight', label: 'mask × feature L1', step: 0.001, min: 0, kind: 'factorized' },
  { key: 'seed', label: 'seed', step: 1, min: 0 },
];

/** One line on what each readout is, under the readout type control. */
const READOUT_HINTS: Record<ReadoutKind, string> = {
  gaussian:
    'each neuron reads the core at one learned position, a Gaussian (Lurz et al. 2021): ' + 'c + 7 numbers per neuron',
  factorized:
    'each neuron weights the whole feature map by a learned spatial mask times a feature vector ' +
    '(Klindt et al. 2017): c + h·w numbers per neuron',
};

/** The loss, output and positions a finished run used, from its metadata JSON (result.ts). */
function describeRun(metadataJson: string | null): string {
  if (!metadataJson) return '—';
  try {
    const m = JSON.parse(metadataJson) as {
      training?: { loss?: LossName; nonlinearity_type?: string };
      readout?: { positions?: string | null };
    };
    const loss = m.training?.loss;
    const parts = [
      loss ? `${LOSS_LABELS[loss] ?? loss} loss` : null,
      m.training?.nonlinearity_type ? `output ${m.training.nonlinearity_type}` : null,
      m.readout?.positions ? `positions ${m.readout.positions}` : null,
    ];
    return parts.filter(Boolean).join(', ') || '—';
  } catch {
    return '—';
  }
}

export function TrainingView() {
  const model = useStore((s) => s.model);
  const scan = useStore((s) => s.scanSummary);
  const settings = useStore((s) => s.trainingSettings);
  const setSettings = useStore((s) => s.setTrainingSettings);
  const phase = useStore((s) => s.trainingPhase);
  const message = useStore((s) => s.trainingMessage);
  const backend = useStore((s) => s.trainingBackend);
  const cache = useStore((s) => s.cacheProgress);
  const batch = useStore((s) => s.lastBatch);
  const history = useStore((s) => s.trainingHistory);
  const restores = useStore((s) => s.restores);
  const result = useStore((s) => s.trainingResult);
  const error = useStore((s) => s.trainingError);
  const start = useStore((s) => s.startTraining);
  const pause = useStore((s) => s.pauseTraining);
  const resume = useStore((s) => s.resumeTraining);
  const stop = useStore((s) => s.stopTraining);
  const explore = useStore((s) => s.exploreTrainedModel);

  const fullScan = useStore((s) => s.scan);
  const configJson = model?.source.configJson ?? null;
  // the loss (negative responses: MSE, or an error for an explicit Poisson) and positions this run will use
  const plan = useMemo(() => trainingPlan(configJson, fullScan, settings), [configJson, fullScan, settings]);
  const defaults = useMemo(() => configDefaults(configJson), [configJson]);
  const running = RUNNING.has(phase);
  const ready = !!model && !!scan;
  const fits = model && scan ? scan.imageShape.every((v, i) => v === model.inputShape[i]) : false;
  const metrics = result?.metrics ?? null;
  const trainedWith = useMemo(() => describeRun(result?.metadataJson ?? null), [result]);

  let progress: { value: number; max: number; text: string } | null = null;
  if (phase === 'caching' && cache) {
    progress = {
      value: cache.done,
      max: cache.total,
      text: `core features: ${cache.done} / ${cache.total} images, ${duration(cache.remainingS)} left (${(cache.bytes / 2 ** 20).toFixed(0)} MB, ${cache.precision})`,
    };
  } else if ((phase === 'training' || phase === 'paused') && batch) {
    progress = {
      value: batch.batch,
      max: batch.batches,
      text: `epoch ${batch.epoch}, batch ${batch.batch} / ${batch.batches}, loss ${batch.loss.toFixed(1)}, lr ${batch.lr.toPrecision(2)}, ${duration(batch.elapsedS)} elapsed, ≥ ${duration(batch.remainingS)} left`,
    };
  }

  return (
    <section className="panel" aria-labelledby="training-title" data-testid="training-panel">
      <h2 id="training-title">Fine-tune a readout</h2>
      <p className="muted small">
        A new readout for the scan&apos;s neurons on the loaded model&apos;s core, which stays frozen (the paper&apos;s
        transfer setting) unless you fine-tune it too.
        {!ready && ' Load a checkpoint and a scan to start.'}
        {ready && !fits && ' The scan\u2019s images do not fit the model\u2019s input.'}
      </p>
      <fieldset className="settings small" disabled={running}>
        <label className="wide-setting">
          readout
          <select
            data-testid="train-readout-type"
            aria-describedby="train-readout-hint"
            value={settings.readoutType}
            onChange={(e) => setSettings({ readoutType: e.target.value as ReadoutKind })}
          >
            <option value="gaussian">Gaussian</option>
            <option value="factorized">Factorized</option>
          </select>
          <span className="small muted" id="train-readout-hint" data-testid="train-readout-hint">
            {READOUT_HINTS[settings.readoutType]}
          </span>
        </label>
        {FIELDS.filter((f) => !f.kind || f.kind === settings.readoutType).map((f) => (
          <label key={f.key}>
            {f.label}
            <input
              type="number"
              step={f.step}
              min={f.min}
              value={(f.key === 'gammaReadout' ? plan.gammaReadout : settings[f.key]) as number}
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isFinite(v)) setSettings({ [f.key]: v });
              }}
            />
          </label>
        ))}
        <ChoiceSelect
          label="Σ"
          hidden={settings.readoutType !== 'gaussian'}
          value={plan.gaussType}
          choices={[
            ['full', 'full'],
            ['uncorrelated', 'uncorrelated'],
            ['isotropic', 'isotropic'],
          ]}
          onChange={(gaussType) => setSettings({ gaussType })}
        />
        <ChoiceSelect
          label="positions"
          testId="train-positions"
          hidden={settings.readoutType !== 'gaussian'}
          value={settings.positions}
          choices={[
            ['auto', 'automatic'],
            ['network', 'from cortical coordinates (position network)'],
            ['free', 'free (one per neuron)'],
          ]}
          onChange={(positions) => setSettings({ positions })}
        />
        <ChoiceSelect
          label="loss"
          testId="train-loss"
          value={settings.loss}
          choices={[['auto', 'automatic'] as const, ...LOSS_NAMES.map((l) => [l, LOSS_LABELS[l]] as const)]}
          onChange={(loss) => setSettings({ loss })}
        />
        <ChoiceSelect
          label="output"
          testId="train-output"
          value={settings.output}
          choices={[
            ['auto', 'automatic'] as const,
            ...OUTPUT_NONLINEARITIES.map((o) => [o, OUTPUT_LABELS[o]] as const),
          ]}
          onChange={(output) => setSettings({ output })}
        />
        <label title="BatchNorm in training mode with running-average updates, the core regularizers of neuralpredictors; the exported full model holds the fine-tuned core">
          <span>
            <input
              type="checkbox"
              data-testid="train-core"
              style={{ width: 'auto', margin: '0 0.35rem 0 0' }}
              checked={settings.trainCore}
              onChange={(e) => setSettings({ trainCore: e.target.checked })}
            />
            Also fine-tune the core
          </span>
          <span className="small">much slower: every epoch runs the core forward and backward (no cache)</span>
        </label>
      </fieldset>
      {ready && (
        <p className="small" data-testid="train-plan">
          {plan.lossError ? (
            <span className="error" data-testid="train-loss-error">
              {plan.lossError}
            </span>
          ) : (
            <>
              <span data-testid="train-loss-note">
                {plan.loss?.note ?? `loss: ${plan.loss ? LOSS_LABELS[plan.loss.loss] : '—'}`}
              </span>
              {settings.readoutType === 'gaussian' && (
                <span data-testid="train-positions-note">
                  {'; '}
                  {plan.positionsNote ??
                    (plan.positions === 'free'
                      ? 'free positions (one per neuron)'
                      : 'positions from cortical coordinates (position network)')}
                </span>
              )}
            </>
          )}
        </p>
      )}
      <fieldset className="settings small" disabled={running}>
        <TrainingAdvanced settings={settings} plan={plan} defaults={defaults.advanced} onChange={setSettings} />
      </fieldset>
      <FineTuneMemoryNote />
      <div className="row small">
        <button
          type="button"
          className="button"
          data-testid="train-start"
          disabled={!ready || !fits || running || plan.lossError !== null}
          onClick={start}
        >
          Start
        </button>
        {phase === 'paused' ? (
          <button type="button" className="button button-secondary" data-testid="train-resume" onClick={resume}>
            Resume
          </button>
        ) : (
          <button
            type="button"
            className="button button-secondary"
            data-testid="train-pause"
            disabled={phase !== 'training'}
            onClick={pause}
          >
            Pause
          </button>
        )}
        <button
          type="button"
          className="button button-secondary"
          data-testid="train-stop"
          disabled={!running}
          onClick={stop}
        >
          Stop
        </button>
        <span className="muted" data-testid="train-phase">
          {phase === 'idle' ? '' : `${phase}${message ? `: ${message}` : ''}`}
        </span>
      </div>
      <div className="progress-line small" data-testid="train-progress">
        <progress max={progress?.max ?? 1} value={progress?.value ?? 0} />
        <span className="muted" title={backend?.reason}>
          {progress?.text ?? (backend ? `on ${backend.name}` : '')}
        </span>
      </div>
      <ErrorBanner message={error} onDismiss={() => useStore.setState({ trainingError: null })} testId="train-error" />
      <TrainingCurves history={history} restores={restores} maxEpochs={settings.maxEpochs} />
      {result && (
        <div className="results small" data-testid="train-results">
          <p>{result.message}</p>
          <dl className="facts">
            <dt>test correlation</dt>
            <dd data-testid="result-test-correlation">{fmt(metrics?.test_correlation)}</dd>
            <dt>correlation to average</dt>
            <dd>{fmt(metrics?.correlation_to_average)}</dd>
            <dt>fraction of oracle</dt>
            <dd>{fmt(metrics?.fraction_oracle)}</dd>
            <dt>FEVE</dt>
            <dd>{fmt(metrics?.feve)}</dd>
            <dt>trained with</dt>
            <dd data-testid="result-trained-with">{trainedWith}</dd>
            <dt>time</dt>
            <dd>
              {result.trainCore ? 'core fine-tuned too (no cache)' : `cache ${duration(result.timings.cacheS)}`},
              training {duration(result.timings.trainS)}, test {duration(result.timings.testS)}
            </dd>
          </dl>
          <div className="row">
            {result.fullModelPth && (
              <button type="button" className="button" data-testid="explore-trained" onClick={() => void explore()}>
                Explore the fine-tuned model
              </button>
            )}
            {result.fullModelPth && (
              <button
                type="button"
                className="button-quiet link"
                onClick={() => download(result.fullModelPth!, `model-${result.dataKey}.pth`)}
              >
                {result.trainCore ? 'fine-tuned core + readout .pth' : 'core + readout .pth'}
              </button>
            )}
            <button
              type="button"
              className="button-quiet link"
              title={result.trainCore ? 'fits the fine-tuned core only, not the loaded one' : undefined}
              onClick={() => download(result.readoutPth, `readout-${result.dataKey}.pth`)}
            >
              {result.trainCore ? 'readout .pth (for the fine-tuned core)' : 'readout .pth'}
            </button>
            <button
              type="button"
              className="button-quiet link"
              onClick={() => download(result.perNeuronCsv, `neurons-${result.dataKey}.csv`)}
            >
              per-neuron .csv
            </button>
            <button
              type="button"
              className="button-quiet link"
              onClick={() => download(result.metadataJson, `metadata-${result.dataKey}.json`)}
            >
              metadata .json
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
