/**
 * The transfer experiment (Lurz et al. 2021, Fig. 5, in miniature; issue 6): on the held-out animal, how well a
 * new readout does on the demo core (frozen), on a random core (frozen), and against a whole model trained on the
 * animal alone, as the number of training images grows. The shipped results show at once; any cell can be run
 * again here, in its own worker, and its point joins the plot. Beside it, the readout parameter-count table.
 */
import { useState } from 'react';
import { tierIndices } from '../../io/scan/tiers';
import { TRANSFER_CONDITIONS } from '../../state/derived/transfer_results';
import { runKey } from '../../state/slices/transfer_slice';
import { useStore } from '../../state/store';
import { ErrorBanner } from '../components/ErrorBanner';
import { ParamTable } from './transfer/ParamTable';
import { SHIPPED_TRANSFER } from './transfer/shipped';
import { CONDITION_STYLE, TransferLegend, TransferPlot } from './transfer/TransferPlot';
import './transfer/transfer.css';

/** Sizes offered without asking: the larger ones take minutes in a browser (direct cells train a whole model). */
const SMALL_SIZE = 400;

export function TransferView() {
  const model = useStore((s) => s.model);
  const scan = useStore((s) => s.scan);
  const runs = useStore((s) => s.transferRuns);
  const runsFor = useStore((s) => s.transferRunsFor);
  const running = useStore((s) => s.transferRunning);
  const error = useStore((s) => s.transferError);
  const runCell = useStore((s) => s.runTransferCell);
  const cancel = useStore((s) => s.cancelTransferCell);
  const [showLarge, setShowLarge] = useState(false);
  const shipped = SHIPPED_TRANSFER;
  const sizes = shipped?.sizes.length ? shipped.sizes : [100, 200, 400, 800, 1600];
  const seed = shipped?.seed ?? 2024;
  const key = runKey(model?.source.checkpointName, scan?.name);
  const pageRuns = runsFor === key ? runs : [];
  // The shipped numbers belong to the demo's held-out animal; show them only with that scan (or with none yet).
  const onShippedAnimal = !!shipped && (!scan || scan.name === shipped.animal || scan.dataKey === shipped.animal);
  const points = [...(onShippedAnimal ? shipped.points : []), ...pageRuns];
  const trainTrials = scan ? tierIndices(scan, 'train').length : 0;

  const readout =
    model?.architecture.readouts.find((r) => r.key === model.readoutKey) ?? model?.architecture.readouts[0] ?? null;
  const [c, h, w] = model?.architecture.core.outputShape ?? [0, 0, 0];

  return (
    <section className="panel" aria-labelledby="transfer-title" data-testid="transfer-view">
      <h2 id="transfer-title">Transfer: does a core learned on other mice help with a new one?</h2>
      <div className="transfer-layout">
        <div className="transfer-main">
          <p className="small transfer-explainer" data-testid="transfer-explainer">
            The demo's core was trained on four other simulated mice; this animal's{' '}
            {shipped?.neurons ?? scan?.nNeurons ?? ''} neurons were never part of it. For each number of training images
            we fit only a new readout on that frozen core (blue), the same readout on a core with random weights (gray:
            the floor, what the readout alone can do), or a whole new model trained on this animal directly (orange).
            The y axis is the fraction of the best achievable correlation (the oracle) reached on held-out test images.
            With few images the transferred core wins clearly, because the features it learned on other animals
            generalize; with more data direct training catches up, and the random core stays far below both.
          </p>
          <TransferPlot points={points} sizes={sizes} />
          <TransferLegend />
          {!onShippedAnimal && shipped && (
            <p className="muted small">
              The shipped results are for {shipped.animal}; the loaded scan is {scan?.name}, so only cells run here are
              plotted.
            </p>
          )}
          {!shipped && (
            <p className="muted small">
              No shipped results in this build (public/demo/transfer_results.json is missing).
            </p>
          )}
          <p className="muted small">
            Filled points: <code>npm run train:demo</code> (frozen-core cells: the best of 3 readout starts by
            validation correlation). Cells run here repeat that recipe (same training subsets, seeds from {seed},
            protocol), so on the same backend they land on the shipped point.
          </p>
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

      <h3>Run a cell here</h3>
      {!model || !scan ? (
        <p className="muted small" data-testid="transfer-needs">
          Load a checkpoint and a scan (the demo loads both) to run cells in this browser.
        </p>
      ) : (
        <>
          <p className="small muted">
            Each cell trains in a background worker on {scan.name}; the larger sizes and direct training take minutes.
          </p>
          <table className="transfer-runs small" data-testid="transfer-runs">
            <thead>
              <tr>
                <th scope="col">Condition</th>
                {sizes
                  .filter((n) => showLarge || n <= SMALL_SIZE)
                  .map((n) => (
                    <th key={n} scope="col">
                      {n} images
                    </th>
                  ))}
              </tr>
            </thead>
            <tbody>
              {TRANSFER_CONDITIONS.map((cond) => (
                <tr key={cond}>
                  <th scope="row">
                    <span className="swatch" style={{ background: CONDITION_STYLE[cond].color }} />{' '}
                    {CONDITION_STYLE[cond].label}
                  </th>
                  {sizes
                    .filter((n) => showLarge || n <= SMALL_SIZE)
                    .map((n) => {
                      const done = pageRuns.find((p) => p.condition === cond && p.images === n);
                      const isRunning = running?.condition === cond && running.images === n;
                      return (
                        <td key={n}>
                          <button
                            type="button"
                            className="button button-secondary transfer-run"
                            data-testid={`run-${cond}-${n}`}
                            disabled={!!running || n > trainTrials}
                            title={
                              n > trainTrials
                                ? `the scan has only ${trainTrials} training images`
                                : `train the ${CONDITION_STYLE[cond].label.toLowerCase()} condition on ${n} images`
                            }
                            onClick={() => runCell(cond, n, seed)}
                          >
                            {isRunning ? 'running…' : done ? `${done.fractionOracle.toFixed(2)} · again` : 'Run'}
                          </button>
                        </td>
                      );
                    })}
                </tr>
              ))}
            </tbody>
          </table>
          <label className="small">
            <input type="checkbox" checked={showLarge} onChange={(e) => setShowLarge(e.target.checked)} /> offer the
            larger sizes too
          </label>
          <div className="transfer-progress small" data-testid="transfer-progress" aria-live="polite">
            {running ? (
              <>
                <span>
                  {CONDITION_STYLE[running.condition].label}, {running.images} images: {running.message}
                  {running.maxEpochs > 0 && ` · epoch ${running.epoch} of at most ${running.maxEpochs}`}
                  {running.valCorrelation !== null && ` · validation correlation ${running.valCorrelation.toFixed(3)}`}
                  {running.elapsedS > 0 && ` · ${running.elapsedS.toFixed(0)} s`}
                </span>
                <progress
                  max={Math.max(1, running.maxEpochs)}
                  value={running.epoch}
                  aria-label="epochs (early stopping may end sooner)"
                />
                <button type="button" className="button-quiet" onClick={cancel}>
                  Cancel
                </button>
              </>
            ) : pageRuns.length ? (
              `${pageRuns.length} cell${pageRuns.length > 1 ? 's' : ''} run on this page.`
            ) : (
              'No cell run on this page yet.'
            )}
          </div>
        </>
      )}
      <ErrorBanner
        message={error}
        onDismiss={() => useStore.setState({ transferError: null })}
        testId="transfer-error"
      />
    </section>
  );
}
