/**
 * Cell types ("what", Klindt et al. 2017): every neuron's feature vector over the core's channels (its barcode,
 * from any readout that has one: state/derived/cell_types.ts) embedded in 2-D by PCA (on the page when small, in
 * a worker when large) or UMAP (in a worker), colored by k-means cluster. k defaults to the suggested one (highest mean silhouette over
 * k = 2..10, plotted beside). Hover and click are the app-wide neuron selection; clicking a cluster in the
 * legend emphasizes its neurons on the receptive-field map ("where"). When the scan carries ground-truth cell
 * types, a second scatter shows them, with the confusion table and the adjusted Rand index.
 */
import { useMemo, useState } from 'react';
import type { FeatureScaling } from '../../analysis/scaling';
import {
  clusterSummary,
  compareWithTruth,
  pcaEmbedding,
  readoutFeatureMatrix,
  trueCellTypes,
} from '../../state/derived/cell_types';
import { PCA_ON_PAGE_MAX } from '../../state/services/cell_types_service';
import { useStore } from '../../state/store';
import { useAsync } from '../hooks/use_async';
import { ConfusionMatrix } from './cell_types/ConfusionMatrix';
import { EmbeddingScatter } from './cell_types/EmbeddingScatter';
import { MiniBarcode } from './cell_types/MiniBarcode';
import { categoryColor } from './cell_types/palette';
import { SilhouettePlot } from './cell_types/SilhouettePlot';
import { useCellTypesJob } from './cell_types/use_cell_types_job';
import './cell_types/cell_types.css';

type Method = 'pca' | 'umap';

const SCALINGS: Array<{ value: FeatureScaling; label: string; title: string }> = [
  {
    value: 'unit',
    label: 'pattern (unit length)',
    title: 'each barcode divided by its length: neurons compare by which channels they weight, not by how strongly',
  },
  {
    value: 'standardize',
    label: 'standardized channels',
    title: 'each channel centred and scaled to unit variance over the neurons',
  },
  { value: 'none', label: 'as learned', title: 'the readout weights as they are' },
];

const pct = (v: number): string => `${(100 * v).toFixed(0)}%`;

export function CellTypesView() {
  const model = useStore((s) => s.model);
  const scan = useStore((s) => s.scan);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const highlight = useStore((s) => s.highlightedNeurons);
  const highlightNeurons = useStore((s) => s.highlightNeurons);
  const showView = useStore((s) => s.showView);
  const [method, setMethod] = useState<Method>('pca');
  const [scaling, setScaling] = useState<FeatureScaling>('unit');
  // null: the suggested k.
  const [pickedK, setPickedK] = useState<number | null>(null);

  const features = useAsync(model ? () => readoutFeatureMatrix(model) : null, [model]);
  const fm = features.value;
  // PCA on the page when it takes a few tens of ms, else in a worker like the rest.
  const pcaOnPage = !!fm && fm.neurons * fm.channels ** 2 <= PCA_ON_PAGE_MAX;
  const pcaHere = useMemo(() => (fm && pcaOnPage ? pcaEmbedding(fm, scaling) : null), [fm, pcaOnPage, scaling]);
  const pcaJob = useCellTypesJob(fm, 'pca', scaling, !!fm && !pcaOnPage && method === 'pca');
  const pca = pcaHere ?? pcaJob.value;
  const sweep = useCellTypesJob(fm, 'clusters', scaling, true);
  const umap = useCellTypesJob(fm, 'umap', scaling, method === 'umap');
  const embedJob = method === 'umap' ? umap : pcaJob;

  const s = sweep.value;
  const k = s ? (pickedK !== null && s.ks.includes(pickedK) ? pickedK : s.suggested) : null;
  const labels = s && k !== null ? s.labels[s.ks.indexOf(k)] : null;
  const summary = useMemo(() => (fm && labels && k !== null ? clusterSummary(fm, labels, k) : null), [fm, labels, k]);
  const truth = useMemo(() => (model ? trueCellTypes(model, scan) : null), [model, scan]);
  const comparison = useMemo(
    () => (labels && k !== null && truth?.types ? compareWithTruth(labels, truth.types, k) : null),
    [labels, k, truth],
  );

  if (!model) return null;
  const scalingLabel = SCALINGS.find((x) => x.value === scaling)!.label;
  const clusterName = (j: number) => `cluster ${j + 1} of ${k} (Cell types, ${scalingLabel})`;
  const active =
    highlight && highlight.model === model && k !== null
      ? (Array.from({ length: k }, (_v, j) => j).find((j) => highlight.label === clusterName(j)) ?? null)
      : null;
  const toggleCluster = (j: number) => {
    if (!labels) return;
    if (active === j) {
      highlightNeurons(null);
      return;
    }
    const neurons: number[] = [];
    labels.forEach((l, n) => {
      if (l === j) neurons.push(n);
    });
    highlightNeurons({ neurons, label: clusterName(j), color: categoryColor(j), model });
  };

  const coords = method === 'pca' ? (pca?.coords ?? null) : (umap.value?.coords ?? null);
  const axes: [string, string] =
    method === 'pca' && pca
      ? [`PC 1 (${pct(pca.explainedRatio[0])} of variance)`, `PC 2 (${pct(pca.explainedRatio[1])})`]
      : ['UMAP 1', 'UMAP 2'];
  const C = fm?.channels ?? model.architecture.core.outputShape[0];
  const N = fm?.neurons ?? model.neurons;
  const focus = hovered ?? selected;
  const focusOk = focus !== null && fm !== null && focus < fm.neurons;

  return (
    <section className="panel" aria-labelledby="cell-types-title" data-testid="cell-types-view">
      <h2 id="cell-types-title">Cell types: what each neuron computes</h2>
      <p className="small cell-types-explainer" data-testid="cell-types-explainer">
        Each dot is a neuron, placed by its <em>barcode</em>: the readout&apos;s weights on the core&apos;s {C} feature
        channels, which say what the neuron computes wherever it looks. Neurons with similar barcodes land close
        together.{' '}
        {method === 'pca'
          ? 'PCA: the axes are the two directions in which the barcodes differ most (their share of the variance in ' +
            'brackets). '
          : 'UMAP: a non-linear map that keeps each neuron\u2019s nearest neighbours close; the axes have no units and ' +
            'distances between far groups mean little. '}
        Colors are k-means clusters, groups of neurons with similar barcodes: candidate cell types (Klindt et al. 2017).
      </p>
      <div className="controls small">
        <span role="radiogroup" aria-label="Embedding" className="controls">
          <label>
            <input type="radio" name="cell-types-method" checked={method === 'pca'} onChange={() => setMethod('pca')} />{' '}
            PCA
          </label>
          <label>
            <input
              type="radio"
              name="cell-types-method"
              checked={method === 'umap'}
              onChange={() => setMethod('umap')}
            />{' '}
            UMAP
          </label>
        </span>
        <label title={SCALINGS.find((x) => x.value === scaling)!.title}>
          barcodes{' '}
          <select
            aria-label="Barcode scaling"
            value={scaling}
            onChange={(e) => setScaling(e.target.value as FeatureScaling)}
          >
            {SCALINGS.map((x) => (
              <option key={x.value} value={x.value} title={x.title}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          clusters k{' '}
          <select
            aria-label="Number of clusters"
            data-testid="cell-types-k"
            value={k ?? ''}
            disabled={!s}
            onChange={(e) => setPickedK(Number(e.target.value))}
          >
            {!s && <option value="">…</option>}
            {s?.ks.map((kk) => (
              <option key={kk} value={kk}>
                {kk}
                {kk === s.suggested ? ' (suggested)' : ''}
              </option>
            ))}
          </select>
        </label>
        {s && (
          <span className="muted" data-testid="cell-types-suggested-k" data-value={s.suggested}>
            suggested k = {s.suggested}
          </span>
        )}
      </div>
      {features.error && (
        <p className="error" role="alert">
          Could not read the readout&apos;s features: {features.error}
        </p>
      )}
      {(sweep.progress || embedJob.progress) && (
        <div className="progress-line small" data-testid="cell-types-progress">
          {(() => {
            const p = embedJob.progress ?? sweep.progress!;
            return (
              <>
                <progress max={p.total || 1} value={p.done} />
                <span className="muted">
                  {p.what}: {p.done} / {p.total || '…'}
                </span>
              </>
            );
          })()}
        </div>
      )}
      {sweep.error && (
        <p className="error" role="alert">
          Clustering failed: {sweep.error}
        </p>
      )}
      {embedJob.error && (
        <p className="error" role="alert">
          {method.toUpperCase()} failed: {embedJob.error}
        </p>
      )}

      <div className="cell-types-plots">
        <figure className="figure">
          {coords ? (
            <EmbeddingScatter
              coords={coords}
              categories={labels}
              emphasized={active}
              xLabel={axes[0]}
              yLabel={axes[1]}
              ticks={method === 'pca'}
              testId="cell-types-points"
              label={`${N} neurons' barcodes by ${method.toUpperCase()}, colored by k-means cluster`}
            />
          ) : (
            <p className="muted small">
              {method === 'umap' ? 'UMAP is laying out the neurons…' : 'PCA of the barcodes…'}
            </p>
          )}
          <figcaption>
            {method.toUpperCase()} of {N.toLocaleString('en-US')} barcodes ({fm?.readoutKind ?? ''} readout), colored by
            cluster
            {fm?.signFlipped !== undefined && (
              <span data-testid="cell-types-sign-note">
                ; each barcode signed by its mask&apos;s largest weight ({fm.signFlipped} of {N} masks peak negative,{' '}
                their features negated: mask and features flipped together predict the same)
              </span>
            )}
            {method === 'umap' && umap.value
              ? `; ${umap.value.epochs} epochs, ${(umap.value.milliseconds / 1000).toFixed(1)} s`
              : ''}
          </figcaption>
        </figure>
        {comparison && coords && (
          <figure className="figure">
            <EmbeddingScatter
              coords={coords}
              categories={comparison.neuronSlots}
              emphasized={null}
              xLabel={axes[0]}
              yLabel={axes[1]}
              ticks={method === 'pca'}
              testId="cell-types-truth-points"
              label={`The same ${N} neurons colored by their ground-truth cell type`}
            />
            <figcaption>
              the same neurons, colored by true type (each in the color of the cluster it overlaps most)
            </figcaption>
          </figure>
        )}
        <div className="cell-types-side">
          {s && k !== null && (
            <>
              <SilhouettePlot ks={s.ks} scores={s.silhouette} suggested={s.suggested} chosen={k} onPick={setPickedK} />
              <p className="small muted">
                Suggested k: the highest mean silhouette (how much closer each neuron is to its own cluster than to the
                next), {s.silhouette[s.ks.indexOf(s.suggested)].toFixed(2)} at k = {s.suggested}
                {s.silhouette[s.ks.indexOf(s.suggested)] < 0.25
                  ? '; below 0.25 the clusters are weak: the barcodes may vary continuously'
                  : ''}
                .
              </p>
            </>
          )}
          {summary && k !== null && (
            <>
              <p className="small">Click a cluster to emphasize its neurons on the receptive-field map:</p>
              <ul className="cluster-legend" data-testid="cell-types-legend">
                {Array.from({ length: k }, (_v, j) => (
                  <li key={j}>
                    <button
                      type="button"
                      className="button-quiet"
                      aria-pressed={active === j}
                      data-testid={`cluster-${j}`}
                      onClick={() => toggleCluster(j)}
                    >
                      <span className="swatch" style={{ background: categoryColor(j) }} />
                      cluster {j + 1}
                      <MiniBarcode
                        weights={summary.means.subarray(j * C, (j + 1) * C)}
                        label={`mean barcode of cluster ${j + 1}`}
                      />
                      <span className="count">{summary.sizes[j]} neurons</span>
                    </button>
                  </li>
                ))}
              </ul>
              {active !== null && (
                <button
                  type="button"
                  className="button button-secondary"
                  data-testid="cell-types-show-rf"
                  onClick={() => showView('positions')}
                >
                  Show cluster {active + 1} on the receptive-field map
                </button>
              )}
            </>
          )}
          {comparison && (
            <>
              <p className="cell-types-ari" data-testid="cell-types-ari" data-value={comparison.ari}>
                Agreement with the {truth?.types ? new Set(truth.types).size : ''} true types: adjusted Rand index{' '}
                <strong>{comparison.ari.toFixed(3)}</strong>{' '}
                <span className="small muted">(1: the same grouping, 0: chance)</span>
              </p>
              <ConfusionMatrix table={comparison.table} typeSlots={comparison.typeSlots} />
            </>
          )}
          {truth && !truth.types && (
            <p className="small muted" data-testid="cell-types-no-truth">
              No ground-truth types: {truth.note}.
            </p>
          )}
        </div>
      </div>
      <p className="small" data-testid="cell-types-focus">
        {focusOk ? (
          <>
            <strong>neuron {focus}</strong>
            {labels ? <>: cluster {labels[focus] + 1}</> : null}
            {truth?.types ? <>, true type {truth.types[focus]}</> : null}{' '}
            <MiniBarcode
              weights={fm!.features.subarray(focus * C, (focus + 1) * C)}
              width={120}
              height={20}
              label={`barcode of neuron ${focus}`}
            />
          </>
        ) : (
          <span className="muted">Hover a dot for its neuron (the other views follow); click to select it.</span>
        )}
      </p>
    </section>
  );
}
