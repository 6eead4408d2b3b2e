/**
 * Neuron inspector: everything about the selected neuron. Its feature weights (the barcode, "what"), where it
 * reads on the core's feature maps for the selected image (a Gaussian readout's position; a factorized readout's
 * spatial mask as a heat map, "where"), the images that drive it most, and, when the loaded scan holds this
 * readout's neurons, its predicted against recorded responses on the test images.
 * Step through neurons with the number field (arrow keys up/down), the buttons, or ←/→ anywhere in the panel.
 */
import { type KeyboardEvent, useEffect, useMemo, useState } from 'react';
import {
  coreFeatureMaps,
  neuronFeatures,
  neuronTestResponses,
  readoutFeatures,
  scanMatchesReadout,
  scanTestComparison,
  sharedFeatureLinks,
  strongestChannel,
  topImages,
} from '../../state/services/inspector_service';
import { useStore } from '../../state/store';
import { COLOR_MAPS } from '../colormaps';
import './core/core.css';
import { useAsync } from '../hooks/use_async';
import { useReadoutGeometry } from '../hooks/use_field_geometry';
import { sequentialLut } from './core/heatmap';
import { Barcode } from './inspector/Barcode';
import { MaskHeatmap, MaskOnMaps } from './inspector/MaskOnMaps';
import { PositionOnMaps } from './inspector/PositionOnMaps';
import { PredictedObserved } from './inspector/PredictedObserved';
import { SharedFeatures } from './inspector/SharedFeatures';
import { TopImages } from './inspector/TopImages';

const TOP_K = 8;

function NeuronStepper({
  neuron,
  neurons,
  onSelect,
}: {
  neuron: number | null;
  neurons: number;
  onSelect(n: number): void;
}) {
  const [draft, setDraft] = useState(neuron === null ? '' : String(neuron));
  useEffect(() => setDraft(neuron === null ? '' : String(neuron)), [neuron]);
  const commit = (text: string) => {
    setDraft(text);
    const n = Number(text);
    if (text.trim() !== '' && Number.isInteger(n) && n >= 0 && n < neurons) onSelect(n);
  };
  const step = (d: number) => onSelect(Math.min(neurons - 1, Math.max(0, (neuron ?? (d > 0 ? -1 : neurons)) + d)));
  return (
    <div className="stepper small">
      <label htmlFor="inspector-neuron">Neuron</label>
      <button
        type="button"
        className="button-quiet"
        aria-label="Previous neuron"
        disabled={neuron === 0}
        onClick={() => step(-1)}
      >
        ‹
      </button>
      <input
        id="inspector-neuron"
        data-testid="inspector-neuron"
        type="number"
        min={0}
        max={neurons - 1}
        step={1}
        placeholder="0"
        value={draft}
        onChange={(e) => commit(e.target.value)}
        aria-describedby="inspector-neuron-count"
      />
      <button
        type="button"
        className="button-quiet"
        aria-label="Next neuron"
        disabled={neuron === neurons - 1}
        onClick={() => step(1)}
      >
        ›
      </button>
      <span id="inspector-neuron-count" className="muted">
        0 … {(neurons - 1).toLocaleString('en-US')}
      </span>
    </div>
  );
}

export function NeuronInspectorView() {
  const model = useStore((s) => s.model);
  // A factorized readout's neuron sits at its mask's peak or centre of mass, as in the field views.
  const geometry = useReadoutGeometry();
  const images = useStore((s) => s.images);
  const prediction = useStore((s) => s.prediction);
  const scan = useStore((s) => s.scan);
  const imageIndex = useStore((s) => s.selectedImage);
  const selectImage = useStore((s) => s.selectImage);
  const selected = useStore((s) => s.selectedNeuron);
  const selectNeuron = useStore((s) => s.selectNeuron);
  const colorMap = useStore((s) => s.view.colorMap);
  const [pickedChannel, setPickedChannel] = useState<number | null>(null);

  const neurons = model?.neurons ?? 0;
  const neuron = selected !== null && selected < neurons ? selected : null;
  const count = images?.shape[0] ?? 0;
  const current = Math.min(imageIndex, Math.max(0, count - 1));

  const features = useAsync(model ? () => readoutFeatures(model) : null, [model]);
  const maps = useAsync(
    model && images && count > 0 && neuron !== null
      ? () => coreFeatureMaps(model, images, current).then((m) => ({ maps: m, model, images, index: current }))
      : null,
    [model, images, current, neuron !== null],
    { keepPrevious: true },
  );
  const match = useMemo(() => (model && scan ? scanMatchesReadout(model, scan) : null), [model, scan]);
  // The test-set predictions cost a pass over every test image: only once someone inspects a neuron.
  const comparison = useAsync(
    model && scan && match?.ok && neuron !== null ? () => scanTestComparison(model, scan) : null,
    [model, scan, match?.ok, neuron !== null],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: a channel picked for one neuron is forgotten when another is inspected
  useEffect(() => setPickedChannel(null), [neuron]);

  const weights = useMemo(
    () =>
      features.value && neuron !== null && neuron < features.value.neurons
        ? neuronFeatures(features.value, neuron)
        : null,
    [features.value, neuron],
  );
  const shared = useMemo(() => (model && neuron !== null ? sharedFeatureLinks(model, neuron) : null), [model, neuron]);
  const cmp = comparison.value && model && comparison.value.neurons === model.neurons ? comparison.value : null;
  const testResponses = useMemo(
    () => (cmp && neuron !== null ? neuronTestResponses(cmp, neuron) : null),
    [cmp, neuron],
  );

  // Top images: over the scan's test images once they are predicted, else over the images on show.
  const top = useMemo(() => {
    if (neuron === null) return null;
    if (cmp) {
      return {
        images: cmp.images,
        predictions: cmp.predictions,
        order: topImages(cmp.predictions, cmp.neurons, neuron, TOP_K),
        source: 'test images of the scan',
        current: false,
      };
    }
    if (prediction && images && prediction.imagesName === images.name && prediction.shape[1] === neurons) {
      return {
        images,
        predictions: prediction.data,
        order: topImages(prediction.data, neurons, neuron, TOP_K),
        source: `images on show (${images.name})`,
        current: true,
      };
    }
    return null;
  }, [neuron, cmp, prediction, images, neurons]);

  if (!model) return null;
  const table = sequentialLut(COLOR_MAPS[colorMap].interpolate);
  const grid: [number, number] | null =
    geometry && neuron !== null && neuron < geometry.neurons
      ? [geometry.grid[2 * neuron], geometry.grid[2 * neuron + 1]]
      : null;
  const pixel: [number, number] | null =
    geometry && neuron !== null && neuron < geometry.neurons
      ? [geometry.pixels[2 * neuron], geometry.pixels[2 * neuron + 1]]
      : null;
  const strongest = weights ? strongestChannel(weights) : 0;
  const channel = pickedChannel ?? strongest;
  const m = maps.value && maps.value.model === model ? maps.value.maps : null;
  const masks =
    geometry?.factorized && neuron !== null && neuron < geometry.factorized.geometry.neurons
      ? geometry.factorized
      : null;
  const positionLabel = geometry?.position === 'centroid' ? 'centre of mass' : 'peak';
  const extent = geometry
    ? {
        x0: geometry.mapX.offset,
        x1: geometry.mapX.scale * (geometry.featureSize[1] - 1) + geometry.mapX.offset,
        y0: geometry.mapY.offset,
        y1: geometry.mapY.scale * (geometry.featureSize[0] - 1) + geometry.mapY.offset,
      }
    : null;

  const onKeyDown = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    if (target instanceof HTMLSelectElement || (target instanceof HTMLInputElement && target.type !== 'number')) return;
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    const d = e.key === 'ArrowRight' ? 1 : -1;
    selectNeuron(Math.min(neurons - 1, Math.max(0, (neuron ?? (d > 0 ? -1 : neurons)) + d)));
  };
  const strongestForImage = () => {
    if (!prediction || current >= prediction.shape[0] || prediction.shape[1] !== neurons) return;
    let best = 0;
    const row = current * neurons;
    for (let n = 1; n < neurons; n++) if (prediction.data[row + n] > prediction.data[row + best]) best = n;
    selectNeuron(best);
  };
  const unitId = cmp && scan && neuron !== null ? scan.unitIds[neuron] : null;

  return (
    <section className="panel" aria-labelledby="inspector-title" data-testid="inspector-view" onKeyDown={onKeyDown}>
      <h2 id="inspector-title">Neuron inspector</h2>
      <div className="controls small">
        <NeuronStepper neuron={neuron} neurons={neurons} onSelect={selectNeuron} />
        <button
          type="button"
          className="button-quiet"
          onClick={strongestForImage}
          disabled={!prediction || prediction.shape[1] !== neurons}
          title="Select the neuron with the largest predicted response to the selected image"
        >
          strongest for this image
        </button>
        {neuron !== null && (
          <span data-testid="inspector-summary">
            {grid && pixel && (
              <>
                {masks ? `mask ${positionLabel} ` : 'position '}({pixel[0].toFixed(1)}, {pixel[1].toFixed(1)}) px, grid
                ({grid[0].toFixed(3)}, {grid[1].toFixed(3)})
              </>
            )}
            {unitId !== null && <>; unit id {unitId}</>}
            {prediction && current < prediction.shape[0] && prediction.shape[1] === neurons && (
              <>
                ; predicted response to {images?.labels[current] ?? 'this image'}:{' '}
                <strong>{prediction.data[current * neurons + neuron].toFixed(3)}</strong>
              </>
            )}
          </span>
        )}
      </div>
      {neuron === null ? (
        <p className="muted" data-testid="inspector-empty">
          Select a neuron: click one in the receptive-field or prediction plot, type its number above, or press → here.
        </p>
      ) : (
        <div className="inspector-grid">
          <div className="inspector-block wide">
            <h3>Feature weights</h3>
            {weights ? (
              <Barcode weights={weights} neuron={neuron} picked={channel} onPick={setPickedChannel} />
            ) : (
              <p className="muted small">{features.error ?? 'Reading the readout…'}</p>
            )}
            {shared && <SharedFeatures links={shared} />}
            <p className="muted small">
              One bar per core channel: how much this neuron&apos;s response rises (red, up) or falls (blue, down) with
              that channel
              {masks ? ' under its mask (the factorized readout\u2019s \u201cwhat\u201d)' : ' at its position'}.
              {masks && masks.peakSign[neuron] < 0 && (
                <span data-testid="inspector-negative-mask">
                  {' '}
                  Its mask&apos;s largest weight is negative, so at its peak the neuron applies these weights negated
                  (mask and weights flipped together predict the same; the Cell types view compares the barcode with
                  that sign).
                </span>
              )}
            </p>
          </div>
          <div className={`inspector-block${masks ? ' wide' : ''}`}>
            <h3>
              {masks
                ? 'Where: its spatial mask on the core\u2019s feature maps'
                : 'Position on the core\u2019s feature maps'}
            </h3>
            {masks && m && images && grid && pixel && weights && extent && maps.value!.images === images ? (
              <MaskOnMaps
                images={images}
                index={maps.value!.index}
                maps={m}
                table={table}
                channel={Math.min(channel, m.channels - 1)}
                strongest={strongest}
                weight={weights[Math.min(channel, weights.length - 1)]}
                masks={masks}
                neuron={neuron}
                grid={grid}
                pixel={pixel}
                extent={extent}
                positionLabel={positionLabel}
                onChannel={setPickedChannel}
              />
            ) : masks && grid ? (
              <>
                <MaskHeatmap masks={masks} neuron={neuron} grid={grid} positionLabel={positionLabel} />
                <p className="muted small">
                  {maps.error
                    ? `Could not compute the feature maps: ${maps.error}`
                    : 'Running the core on the selected image…'}
                </p>
              </>
            ) : m && images && grid && pixel && weights && extent && maps.value!.images === images ? (
              <PositionOnMaps
                images={images}
                index={maps.value!.index}
                maps={m}
                table={table}
                channel={Math.min(channel, m.channels - 1)}
                strongest={strongest}
                weight={weights[Math.min(channel, weights.length - 1)]}
                grid={grid}
                pixel={pixel}
                onChannel={setPickedChannel}
                extent={extent}
              />
            ) : (
              <p className="muted small">
                {maps.error
                  ? `Could not compute the feature maps: ${maps.error}`
                  : 'Running the core on the selected image…'}
              </p>
            )}
          </div>
          <div className="inspector-block">
            <h3>Images that drive it most</h3>
            {top && pixel ? (
              <TopImages
                images={top.images}
                predictions={top.predictions}
                neurons={neurons}
                neuron={neuron}
                order={top.order}
                pixel={pixel}
                source={top.source}
                onSelect={(i) => {
                  // The views show the scan's first test images in the same order as the full test set here.
                  const shown =
                    top.current || (images !== null && images.name === top.images.name && i < images.shape[0]);
                  return shown ? () => selectImage(i) : null;
                }}
              />
            ) : (
              <p className="muted small">
                {comparison.loading ? 'Predicting the scan’s test images…' : 'Waiting for the model’s predictions…'}
              </p>
            )}
          </div>
          <div className="inspector-block wide">
            <h3>Predicted vs recorded responses</h3>
            {cmp && testResponses ? (
              <>
                <p className="muted small">{match?.reason}</p>
                <PredictedObserved cmp={cmp} r={testResponses} neuron={neuron} />
              </>
            ) : (
              <p className="muted small" data-testid="pred-obs-note">
                {!scan
                  ? `Load the scan this readout was trained on (${neurons.toLocaleString('en-US')} neurons) to compare its predictions with recorded responses.`
                  : !match?.ok
                    ? `No comparison: ${match?.reason}.`
                    : comparison.error
                      ? `Could not predict the test images: ${comparison.error}`
                      : `Predicting the ${scan.name} test images…`}
              </p>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
