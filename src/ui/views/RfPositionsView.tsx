/**
 * Receptive-field positions: every neuron's readout position on the visual field (input pixels), over the
 * current stimulus, colored by its cortical position; the position network's cortex -> visual field map drawn
 * as a warped lattice. A Gaussian readout's position is its mean; a factorized readout's its mask's peak or
 * centre of mass (the legend says which). Hover highlights a neuron in every view, click selects it. A group of
 * neurons another view highlights (a Cell types cluster) is drawn emphasized, the others faded.
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import type { ColorMapName, CorticalColorAxis } from '../../state/slices/view_slice';
import { useStore } from '../../state/store';
import { COLOR_MAPS } from '../colormaps';
import { CorticalLegend } from '../components/CorticalLegend';
import { corticalColorValues } from '../components/cortical_colors';
import { FieldPlot } from '../components/FieldPlot';
import { boundingBox, type FieldExtent, fieldLayout, frameAround } from '../components/field_layout';
import { MaskPositionSelect, positionSourceText } from '../components/MaskPosition';
import { useFieldGeometry } from '../hooks/use_field_geometry';

/** Bounding box of the neurons and the retinotopic lattice, padded, with the plot's aspect ratio. */
function neuronExtent(g: ReadoutGeometry, aspect: number): FieldExtent {
  const box = boundingBox((g.retinotopy ?? []).flat(2), boundingBox(g.pixels.subarray(0, 2 * g.neurons)));
  return frameAround(box, aspect, 0, 1.15);
}

export function RfPositionsView() {
  // While a readout trains, its neurons move here; otherwise the loaded model's readout is shown.
  const { geometry, live } = useFieldGeometry();
  const imageIndex = useStore((s) => s.selectedImage);
  const prediction = useStore((s) => s.prediction);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const model = useStore((s) => s.model);
  const highlight = useStore((s) => s.highlightedNeurons);
  const clearHighlight = useStore((s) => s.highlightNeurons);
  // Neuron indices of another model's readout, or of the readout being trained, would point at other cells.
  const emphasized = highlight && !live && highlight.model === model ? highlight : null;
  const emphasizedSet = useMemo(() => (emphasized ? new Set(emphasized.neurons) : null), [emphasized]);

  const layout = useMemo(
    () =>
      geometry
        ? fieldLayout(geometry.imageSize, view.zoomToNeurons ? (aspect) => neuronExtent(geometry, aspect) : undefined)
        : null,
    [geometry, view.zoomToNeurons],
  );

  const colors = useMemo(
    () => (geometry ? corticalColorValues(geometry, view.colorAxis) : null),
    [geometry, view.colorAxis],
  );
  const interpolate = COLOR_MAPS[view.colorMap].interpolate;

  // The marks change only with the readout, the colors or the size: drawn once as one memoized group.
  const marks = useMemo(() => {
    if (!geometry || !layout) return null;
    const p = geometry.pixels;
    return Array.from({ length: geometry.neurons }, (_v, n) => (
      <circle
        key={n}
        cx={layout.x(p[2 * n])}
        cy={layout.y(p[2 * n + 1])}
        r={view.markRadius}
        fill={colors ? interpolate(colors.t[n]) : '#3b528b'}
        opacity={emphasizedSet && !emphasizedSet.has(n) ? 0.15 : undefined}
      />
    ));
  }, [geometry, layout, colors, interpolate, view.markRadius, emphasizedSet]);

  const emphasizedMarks = useMemo(() => {
    if (!geometry || !layout || !emphasized) return null;
    const p = geometry.pixels;
    return emphasized.neurons
      .filter((n) => n < geometry.neurons)
      .map((n) => (
        <circle
          key={n}
          cx={layout.x(p[2 * n])}
          cy={layout.y(p[2 * n + 1])}
          r={view.markRadius + 1.5}
          fill={colors ? interpolate(colors.t[n]) : '#3b528b'}
          stroke={emphasized.color}
          strokeWidth={1.6}
          data-neuron={n}
        />
      ));
  }, [geometry, layout, emphasized, colors, interpolate, view.markRadius]);

  const lattice = useMemo(() => {
    if (!geometry?.retinotopy || !layout) return null;
    const line = d3
      .line<[number, number]>()
      .x((d) => layout.x(d[0]))
      .y((d) => layout.y(d[1]));
    return geometry.retinotopy.map((l) => line(l) ?? '').join('');
  }, [geometry, layout]);

  if (!geometry || !layout) return null;
  const { x, y } = layout;
  const [ih, iw] = geometry.imageSize;
  const focus = hovered ?? selected;
  const ring = (n: number | null, cls: string) =>
    n === null || n >= geometry.neurons ? null : (
      <circle
        className={cls}
        cx={x(geometry.pixels[2 * n])}
        cy={y(geometry.pixels[2 * n + 1])}
        r={view.markRadius + 3.5}
      />
    );
  const response = (n: number) =>
    !live && prediction && imageIndex < prediction.shape[0] && n < prediction.shape[1]
      ? prediction.data[imageIndex * prediction.shape[1] + n]
      : null;

  return (
    <section className="panel" aria-labelledby="rf-title" data-testid="rf-view">
      <h2 id="rf-title">
        Receptive-field positions
        {live && (
          <span className="muted small" data-testid="rf-live">
            {' '}
            · training: epoch {live.epoch}, batch {live.batch}
          </span>
        )}
      </h2>
      <div className="controls small">
        <label>
          color by cortical{' '}
          <select
            aria-label="Color by cortical axis"
            value={view.colorAxis}
            onChange={(e) => setView({ colorAxis: e.target.value as CorticalColorAxis })}
            disabled={!colors}
          >
            <option value="x">x</option>
            <option value="y">y</option>
          </select>
        </label>
        <label>
          map{' '}
          <select
            aria-label="Color map"
            value={view.colorMap}
            onChange={(e) => setView({ colorMap: e.target.value as ColorMapName })}
          >
            {Object.keys(COLOR_MAPS).map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={view.zoomToNeurons}
            onChange={(e) => setView({ zoomToNeurons: e.target.checked })}
          />{' '}
          zoom to neurons
        </label>
        <label>
          <input
            type="checkbox"
            checked={view.showStimulus}
            onChange={(e) => setView({ showStimulus: e.target.checked })}
          />{' '}
          stimulus
        </label>
        <label>
          <input
            type="checkbox"
            checked={view.showRetinotopy}
            disabled={!geometry.retinotopy}
            onChange={(e) => setView({ showRetinotopy: e.target.checked })}
          />{' '}
          retinotopic map
        </label>
        <MaskPositionSelect geometry={geometry} />
      </div>
      <FieldPlot
        geometry={geometry}
        layout={layout}
        className="rf-plot"
        stimulusClassName="rf-stimulus"
        showStimulus={view.showStimulus}
        label={`Readout positions of ${geometry.neurons} neurons on the ${iw} by ${ih} pixel stimulus`}
        overlay={
          <>
            {ring(selected, 'mark-selected')}
            {ring(hovered, 'mark-hovered')}
          </>
        }
      >
        <g className="rf-marks" data-testid="rf-marks">
          {marks}
        </g>
        {emphasizedMarks && (
          <g className="rf-emphasized" data-testid="rf-emphasized">
            {emphasizedMarks}
          </g>
        )}
        {lattice && view.showRetinotopy && (
          <g data-testid="rf-lattice">
            <path d={lattice} className="rf-lattice-halo" />
            <path d={lattice} className="rf-lattice" />
          </g>
        )}
      </FieldPlot>
      <CorticalLegend
        colors={colors}
        axis={view.colorAxis}
        colorMap={view.colorMap}
        cortexDims={geometry.cortexDims}
        noColors={
          geometry.kind === 'factorized'
            ? 'A factorized readout has a mask per neuron, no cortical coordinates to color by.'
            : 'This readout has free per-neuron positions, no cortical coordinates to color by.'
        }
      >
        <span className="muted" data-testid="rf-position-source" data-position={geometry.position}>
          {colors ? '· ' : ''}position: {positionSourceText(geometry)}
        </span>
      </CorticalLegend>
      {emphasized && (
        <p className="small" data-testid="rf-emphasis">
          <svg width="12" height="12" aria-hidden="true">
            <circle cx="6" cy="6" r="4.5" fill="none" stroke={emphasized.color} strokeWidth="2" />
          </svg>{' '}
          Emphasized: {emphasized.label}, {emphasized.neurons.length.toLocaleString('en-US')} neurons; the others faded.{' '}
          <button type="button" className="button-quiet" onClick={() => clearHighlight(null)}>
            Show all
          </button>
        </p>
      )}
      <p className="small" data-testid="rf-focus">
        {focus !== null && focus < geometry.neurons ? (
          <>
            <strong>neuron {focus}</strong>: at ({geometry.pixels[2 * focus].toFixed(1)},{' '}
            {geometry.pixels[2 * focus + 1].toFixed(1)}) px
            {geometry.factorized && focus < geometry.factorized.geometry.neurons ? (
              <>
                , mask {geometry.position === 'centroid' ? 'centre of mass' : 'peak'}; above half its maximum on{' '}
                {geometry.factorized.geometry.halfMaxPixels[focus]} feature pixels
              </>
            ) : null}
            {geometry.cortex ? (
              <>
                , cortex ({geometry.cortex[focus * geometry.cortexDims].toFixed(3)},{' '}
                {geometry.cortex[focus * geometry.cortexDims + 1].toFixed(3)})
              </>
            ) : null}
            {response(focus) !== null ? <>, response {response(focus)!.toFixed(3)}</> : null}
          </>
        ) : (
          <span className="muted">
            {geometry.neurons.toLocaleString('en-US')} neurons; hover for details, click to select.
          </span>
        )}
      </p>
    </section>
  );
}
