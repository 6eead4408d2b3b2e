/**
 * Correlations: how well the readout predicts each neuron on the scan's test tier. Histogram of single-trial
 * test correlations, test correlation against the oracle with the fraction-oracle line, and a sortable table.
 * The numbers are the loaded model's on the loaded scan (computed here, when the readout's neurons are the
 * scan's), or the last fine-tuning run's.
 */
import { useEffect, useMemo, useState } from 'react';
import { currentEvaluation, evaluationBlocker, fineTuningMetrics } from '../../state/slices/results_slice';
import { useStore } from '../../state/store';
import { ErrorBanner } from '../components/ErrorBanner';
import { Histogram } from './correlations/Histogram';
import { NeuronTable } from './correlations/NeuronTable';
import { fmt, useNeuronFocus } from './correlations/neuron_focus';
import { OracleScatter } from './correlations/OracleScatter';

export function CorrelationsView() {
  const model = useStore((s) => s.model);
  const scan = useStore((s) => s.scan);
  const evaluation = useStore(currentEvaluation);
  const evaluateModel = useStore((s) => s.evaluateModel);
  const trainingResult = useStore((s) => s.trainingResult);
  const tuned = useMemo(() => fineTuningMetrics({ trainingResult, scan }), [trainingResult, scan]);
  const blocker = evaluationBlocker(model, scan);
  const [prefer, setPrefer] = useState<'model' | 'fine-tuning'>('model');

  // Computed when the view is shown (hidden views run no effects), once per model and scan.
  useEffect(() => {
    if (!blocker && !evaluation) void evaluateModel();
  }, [blocker, evaluation, evaluateModel]);

  const fromModel = evaluation?.metrics ?? null;
  const metrics = (prefer === 'fine-tuning' && tuned) || (!fromModel && tuned) ? tuned : fromModel;
  const linked = !!metrics && (metrics.origin === 'model' || model?.neurons === metrics.neurons);
  const focus = useNeuronFocus(linked);

  if (!model && !tuned) return null;
  const s = metrics?.summary;
  const running = evaluation?.status === 'running';

  return (
    <section className="panel" aria-labelledby="corr-title" data-testid="correlations-view">
      <h2 id="corr-title">Correlations</h2>
      {tuned && !blocker && (
        <div className="controls small" role="radiogroup" aria-label="Which readout">
          <label>
            <input
              type="radio"
              name="corr-source"
              checked={metrics?.origin !== 'fine-tuning'}
              onChange={() => setPrefer('model')}
            />{' '}
            loaded model
          </label>
          <label>
            <input
              type="radio"
              name="corr-source"
              checked={metrics?.origin === 'fine-tuning'}
              onChange={() => setPrefer('fine-tuning')}
            />{' '}
            last fine-tuning run
          </label>
        </div>
      )}
      {blocker && !tuned && (
        <p className="muted" data-testid="corr-unavailable">
          {blocker}
          {model && scan && model.neurons !== scan.nNeurons
            ? ' Fine-tune a readout for this scan (left) to see its metrics.'
            : ''}
        </p>
      )}
      {blocker && tuned && (
        <p className="muted small">
          Showing the last fine-tuning run; the loaded model is not evaluated here: {blocker}
        </p>
      )}
      {(running || metrics) && (
        <div className="progress-line small" data-testid="corr-progress">
          {evaluation && running ? (
            <>
              <progress max={evaluation.total || 1} value={evaluation.done} />
              <span className="muted">
                predicting the {evaluation.total} distinct test images: {evaluation.done} / {evaluation.total}
                {evaluation.where ? ` (${evaluation.where})` : ''}
              </span>
            </>
          ) : metrics ? (
            <span className="muted" data-testid="corr-source">
              {metrics.label}: {s!.neurons.toLocaleString('en-US')} neurons, {s!.trials.toLocaleString('en-US')} trials
              of {s!.images} images ({s!.repeated_images} shown more than once)
              {evaluation?.metrics === metrics && evaluation.where ? `; predicted with ${evaluation.where}` : ''}
            </span>
          ) : null}
        </div>
      )}
      <ErrorBanner
        message={evaluation?.status === 'error' ? `evaluation failed: ${evaluation.error}` : null}
        onDismiss={() => useStore.setState({ modelEvaluation: null })}
        testId="corr-error"
      />
      {metrics && s && (
        <>
          <dl className="metric-summary" data-testid="corr-summary">
            <div>
              <dt>test correlation</dt>
              <dd data-testid="corr-mean-test" data-value={s.test_correlation ?? ''}>
                {fmt(s.test_correlation)}
              </dd>
            </div>
            <div>
              <dt>correlation to average</dt>
              <dd data-testid="corr-mean-average" data-value={s.correlation_to_average ?? ''}>
                {fmt(s.correlation_to_average)}
              </dd>
            </div>
            <div>
              <dt>oracle</dt>
              <dd data-testid="corr-mean-oracle" data-value={s.oracle ?? ''}>
                {fmt(s.oracle)}
              </dd>
            </div>
            <div>
              <dt title="least-squares slope of test correlation on oracle, through the origin (Lurz et al. 2020)">
                fraction of oracle
              </dt>
              <dd data-testid="corr-fraction-oracle" data-value={s.fraction_oracle ?? ''}>
                {fmt(s.fraction_oracle)}
              </dd>
            </div>
            <div>
              <dt
                title={`mean over the ${s.feve_neurons} neurons with FEV above ${s.fev_threshold}; unlike the correlations it depends on the predictions' scale`}
              >
                FEVE
              </dt>
              <dd data-testid="corr-feve" data-value={s.feve ?? ''}>
                {fmt(s.feve)}
              </dd>
            </div>
          </dl>
          {!linked && (
            <p className="muted small">
              These neurons are the fine-tuned readout&apos;s; <em>Explore the fine-tuned model</em> links them to the
              other views.
            </p>
          )}
          <div className="corr-plots">
            <Histogram values={metrics.testCorrelation} focus={focus} />
            {metrics.oracle ? (
              <OracleScatter
                oracle={metrics.oracle}
                test={metrics.testCorrelation}
                slope={s.fraction_oracle}
                focus={focus}
              />
            ) : (
              <div className="oracle-note" data-testid="oracle-unavailable">
                <strong>Oracle unavailable.</strong> No image of the {metrics.tier} tier is shown more than once, so
                trial-to-trial noise cannot be told from the signal: there is no oracle correlation, fraction of oracle
                or FEVE. The correlations are still the model&apos;s.
              </div>
            )}
          </div>
          <p className="small corr-focus" data-testid="corr-focus">
            {(() => {
              const n = focus.hovered ?? focus.selected;
              if (n === null || n >= metrics.neurons)
                return <span className="muted">Hover a dot or a row for one neuron; click to select it.</span>;
              return (
                <>
                  <strong>neuron {n}</strong>
                  {metrics.unitIds ? ` (unit ${metrics.unitIds[n]})` : ''}: test {fmt(metrics.testCorrelation[n])}, to
                  average {fmt(metrics.correlationToAverage[n])}, oracle {fmt(metrics.oracle?.[n])}, fraction{' '}
                  {fmt(metrics.fraction?.[n])}, FEVE {fmt(metrics.feve?.[n])}
                </>
              );
            })()}
          </p>
          <NeuronTable metrics={metrics} focus={focus} />
        </>
      )}
    </section>
  );
}
