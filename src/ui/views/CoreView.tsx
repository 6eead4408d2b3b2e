/**
 * Core: what the shared convolutional core has learned and what it computes. The first layer's filters (the
 * only ones that look at pixels directly), and the core's output for the selected image, one map per channel:
 * the features every neuron's readout picks from at its position.
 */
import { useMemo, useState } from 'react';
import {
  coreFeatureMaps,
  firstLayerFilters,
  gridToFeaturePixel,
  neuronFeatures,
  readoutFeatures,
} from '../../state/services/inspector_service';
import { useStore } from '../../state/store';
import { COLOR_MAPS } from '../colormaps';
import { ImageStepper } from '../components/ImageStepper';
import './core/core.css';
import { useAsync } from '../hooks/use_async';
import { useReadoutGeometry } from '../hooks/use_field_geometry';
import { FeatureMapGrid, type MapScale, type NeuronMark } from './core/FeatureMapGrid';
import { FilterGrid } from './core/FilterGrid';
import { Heatmap, MapRing } from './core/Heatmap';
import { fmt, gradient, sequentialLut } from './core/heatmap';

/** How many of the selected neuron's channels are named as its strongest. */
const STRONG_CHANNELS = 4;

export function CoreView() {
  const model = useStore((s) => s.model);
  const images = useStore((s) => s.images);
  const imageIndex = useStore((s) => s.selectedImage);
  const selected = useStore((s) => s.selectedNeuron);
  const geometry = useReadoutGeometry();
  const colorMap = useStore((s) => s.view.colorMap);
  const [scale, setScale] = useState<MapScale>('channel');
  const [focused, setFocused] = useState<number | null>(null);

  const count = images?.shape[0] ?? 0;
  const current = Math.min(imageIndex, Math.max(0, count - 1));
  const filters = useAsync(model ? () => firstLayerFilters(model) : null, [model]);
  const maps = useAsync(
    model && images && count > 0
      ? () => coreFeatureMaps(model, images, current).then((m) => ({ maps: m, model, images, index: current }))
      : null,
    [model, images, current],
    { keepPrevious: true },
  );
  const features = useAsync(model ? () => readoutFeatures(model) : null, [model]);

  const interpolate = COLOR_MAPS[colorMap].interpolate;
  const table = sequentialLut(interpolate);

  const mark = useMemo((): NeuronMark | null => {
    const m = maps.value?.model === model ? maps.value.maps : null;
    if (selected === null || !geometry || !m || selected >= geometry.neurons) return null;
    const [x, y] = gridToFeaturePixel(geometry.grid[2 * selected], geometry.grid[2 * selected + 1], m.width, m.height);
    let strong: number[] = [];
    if (features.value && selected < features.value.neurons) {
      const w = neuronFeatures(features.value, selected);
      strong = Array.from(w, (_v, c) => c)
        .sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]))
        .slice(0, STRONG_CHANNELS);
    }
    return { neuron: selected, x, y, strong };
  }, [selected, geometry, maps.value, features.value, model]);

  if (!model) return null;
  const core = model.architecture.core;
  // A previous image's maps stay while the next are computed; another model's never do.
  const shown = maps.value && maps.value.model === model ? maps.value : null;
  const m = shown?.maps ?? null;
  const focusChannel = m && focused !== null && focused < m.channels ? focused : null;

  return (
    <section className="panel" aria-labelledby="core-title" data-testid="core-view">
      <h2 id="core-title">Core</h2>
      <p className="muted small">
        {core.transferLearning
          ? `${core.transferLearning.modelName} cut after ${core.transferLearning.layers} children (${core.layers.length} conv layers)`
          : `${core.layers.length} layers`}
        ; input {core.inputShape.join('×')}, output {core.outputShape.join('×')} (channels × height × width).{' '}
        {geometry?.kind === 'factorized'
          ? 'Every neuron\u2019s readout weights these output channels over its spatial mask and sums them ' +
            '(a factorized readout).'
          : 'Every neuron\u2019s readout takes a weighted sum of these output channels at its own position.'}
      </p>

      <h3>First-layer filters</h3>
      {filters.value ? (
        <FilterGrid filters={filters.value} repeatedInput={(core.inputRepeat ?? 1) > 1} />
      ) : (
        <p className="muted small">
          {filters.error ? `Could not read the filters: ${filters.error}` : 'Reading the filters…'}
        </p>
      )}

      <h3>Feature maps</h3>
      {images && count > 0 && (
        <div className="core-top">
          <ImageStepper images={images} current={current} width={192} labelTestId="core-image-label" />
          <div className="grow small">
            {m && shown ? (
              <p
                data-testid="fmap-range"
                data-min={m.min}
                data-max={m.max}
                data-image={shown.index}
                data-images-name={shown.images.name}
              >
                {m.channels} channels, {m.height}×{m.width}, values {fmt(m.min)} … {fmt(m.max)} for{' '}
                {shown.images.labels[shown.index]}
                <span className="muted">
                  {' '}
                  ({m.backend}, {m.milliseconds.toFixed(0)} ms)
                </span>
                {maps.loading && <span className="muted"> · computing the next image…</span>}
              </p>
            ) : (
              <p className="muted" data-testid="fmap-status">
                {maps.error ? `Could not compute the feature maps: ${maps.error}` : 'Running the core on this image…'}
              </p>
            )}
            <div className="core-legend">
              <label>
                color scale{' '}
                <select
                  aria-label="Feature map color scale"
                  value={scale}
                  onChange={(e) => setScale(e.target.value as MapScale)}
                >
                  <option value="channel">per channel (its own min … max)</option>
                  <option value="shared">shared by all channels</option>
                </select>
              </label>
              <span className="nowrap">
                <span>low</span>
                <span className="bar" style={{ background: gradient(interpolate) }} />
                <span>high</span>
                <span className="muted">({colorMap})</span>
              </span>
            </div>
            {mark && (
              <p data-testid="core-neuron-note">
                Ringed: neuron {mark.neuron}&apos;s readout position
                {geometry?.kind === 'factorized'
                  ? ` (its mask\u2019s ${geometry.position === 'centroid' ? 'centre of mass' : 'peak'})`
                  : ''}
                .
                {mark.strong.length > 0 && (
                  <> Its strongest channels (largest |weight|): {mark.strong.join(', ')}, in bold.</>
                )}
              </p>
            )}
            <p className="muted">Click a map to enlarge it.</p>
          </div>
        </div>
      )}
      {m && focusChannel !== null && (
        <div className="core-focus" data-testid="core-focus">
          <Heatmap
            data={m.data}
            offset={focusChannel * m.height * m.width}
            height={m.height}
            width={m.width}
            lo={scale === 'shared' ? m.min : m.channelMin[focusChannel]}
            hi={scale === 'shared' ? m.max : m.channelMax[focusChannel]}
            table={table}
            label={`feature map ${focusChannel}, enlarged`}
          >
            {mark && (
              <MapRing x={mark.x} y={mark.y} width={m.width} height={m.height} title={`neuron ${mark.neuron}`} />
            )}
          </Heatmap>
          <div className="small">
            <p>
              <strong>channel {focusChannel}</strong>: {fmt(m.channelMin[focusChannel])} …{' '}
              {fmt(m.channelMax[focusChannel])}
            </p>
            <button type="button" className="button-quiet" onClick={() => setFocused(null)}>
              Close
            </button>
          </div>
        </div>
      )}
      {m && (
        <FeatureMapGrid maps={m} table={table} scale={scale} focused={focusChannel} onFocus={setFocused} mark={mark} />
      )}
    </section>
  );
}
