/**
 * Receptive-field positions: every neuron's readout position on the visual field (input pixels), over the
 * current stimulus, colored by its cortical position; the position network's cortex -> visual field map drawn
 * as a warped lattice. Hover highlights a neuron in every view, click selects it.
 */
import * as d3 from 'd3';
import { useMemo, useRef } from 'react';
import { useStore } from '../../state/store';
import { snapshotGeometry, type ReadoutGeometry } from '../../state/readout_geometry';
import { COLOR_MAPS, gradientCss } from '../colormaps';
import { corticalColorValues } from '../components/cortical_colors';
import { stimulusDataUrl } from '../components/stimulus';
import type { ColorMapName, CorticalColorAxis } from '../../state/view_slice';

const WIDTH = 560;
const M = { top: 8, right: 8, bottom: 38, left: 36 };

/** Bounding box of the neurons and the retinotopic lattice, padded, with the plot's aspect ratio. */
function neuronExtent(g: ReadoutGeometry, aspect: number): [number, number, number, number] {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  const add = (px: number, py: number) => {
    x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
  };
  for (let n = 0; n < g.neurons; n++) add(g.pixels[2 * n], g.pixels[2 * n + 1]);
  for (const line of g.retinotopy ?? []) for (const [px, py] of line) add(px, py);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  let w = Math.max(x1 - x0, 2) * 1.15;
  let h = Math.max(y1 - y0, 2) * 1.15;
  if (w / h > aspect) h = w / aspect; else w = h * aspect;
  return [cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2];
}

export function RfPositionsView() {
  const modelGeometry = useStore((s) => s.geometry);
  const snapshot = useStore((s) => s.snapshot);
  const trainingPhase = useStore((s) => s.trainingPhase);
  const scan = useStore((s) => s.scan);
  // While a readout trains, its neurons move here; otherwise the loaded model's readout is shown.
  const live = snapshot !== null && ['training', 'paused', 'evaluating', 'exporting'].includes(trainingPhase);
  const geometry = useMemo(
    () => (live && modelGeometry ? snapshotGeometry(snapshot, modelGeometry, scan?.cellMotorCoordinates) : modelGeometry),
    [live, snapshot, modelGeometry, scan],
  );
  const images = useStore((s) => s.images);
  const imageIndex = useStore((s) => s.selectedImage);
  const prediction = useStore((s) => s.prediction);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const hoverNeuron = useStore((s) => s.hoverNeuron);
  const selectNeuron = useStore((s) => s.selectNeuron);
  const svgRef = useRef<SVGSVGElement>(null);

  const layout = useMemo(() => {
    if (!geometry) return null;
    const [ih, iw] = geometry.imageSize;
    const plotW = WIDTH - M.left - M.right;
    const plotH = (plotW * ih) / iw;
    // Pixel centres at integers: the image spans [-0.5, size - 0.5].
    let [x0, x1, y0, y1] = [-0.5, iw - 0.5, -0.5, ih - 0.5];
    if (view.zoomToNeurons) [x0, x1, y0, y1] = neuronExtent(geometry, plotW / plotH);
    const x = d3.scaleLinear().domain([x0, x1]).range([M.left, M.left + plotW]);
    const y = d3.scaleLinear().domain([y0, y1]).range([M.top, M.top + plotH]);
    return { x, y, height: M.top + plotH + M.bottom, plotW, plotH };
  }, [geometry, view.zoomToNeurons]);

  const colors = useMemo(() => (geometry ? corticalColorValues(geometry, view.colorAxis) : null), [geometry, view.colorAxis]);
  const interpolate = COLOR_MAPS[view.colorMap].interpolate;

  const delaunay = useMemo(() => {
    if (!geometry || !layout) return null;
    const p = geometry.pixels;
    return d3.Delaunay.from({ length: geometry.neurons }, (_v, n) => layout.x(p[2 * n]), (_v, n) => layout.y(p[2 * n + 1]));
  }, [geometry, layout]);

  const stimulusUrl = useMemo(
    () => (images && view.showStimulus && imageIndex < images.shape[0] ? stimulusDataUrl(images, imageIndex) : null),
    [images, imageIndex, view.showStimulus],
  );

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
      />
    ));
  }, [geometry, layout, colors, interpolate, view.markRadius]);

  const lattice = useMemo(() => {
    if (!geometry?.retinotopy || !layout) return null;
    const line = d3.line<[number, number]>().x((d) => layout.x(d[0])).y((d) => layout.y(d[1]));
    return geometry.retinotopy.map((l) => line(l) ?? '').join('');
  }, [geometry, layout]);

  if (!geometry || !layout) return null;
  const { x, y } = layout;
  const [ih, iw] = geometry.imageSize;
  const focus = hovered ?? selected;
  const ring = (n: number | null, cls: string) => n === null || n >= geometry.neurons ? null : (
    <circle className={cls} cx={x(geometry.pixels[2 * n])} cy={y(geometry.pixels[2 * n + 1])} r={view.markRadius + 3.5} />
  );
  const response = (n: number) => (!live && prediction && imageIndex < prediction.shape[0] && n < prediction.shape[1]
    ? prediction.data[imageIndex * prediction.shape[1] + n] : null);

  return (
    <section className="panel" aria-labelledby="rf-title" data-testid="rf-view">
      <h2 id="rf-title">
        Receptive-field positions
        {live && <span className="muted small" data-testid="rf-live"> · training: epoch {snapshot.epoch}, batch {snapshot.batch}</span>}
      </h2>
      <div className="controls small">
        <label>
          color by cortical{' '}
          <select aria-label="Color by cortical axis" value={view.colorAxis} onChange={(e) => setView({ colorAxis: e.target.value as CorticalColorAxis })} disabled={!colors}>
            <option value="x">x</option>
            <option value="y">y</option>
          </select>
        </label>
        <label>
          map{' '}
          <select aria-label="Color map" value={view.colorMap} onChange={(e) => setView({ colorMap: e.target.value as ColorMapName })}>
            {Object.keys(COLOR_MAPS).map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        <label><input type="checkbox" checked={view.zoomToNeurons} onChange={(e) => setView({ zoomToNeurons: e.target.checked })} /> zoom to neurons</label>
        <label><input type="checkbox" checked={view.showStimulus} onChange={(e) => setView({ showStimulus: e.target.checked })} /> stimulus</label>
        <label>
          <input type="checkbox" checked={view.showRetinotopy} disabled={!geometry.retinotopy} onChange={(e) => setView({ showRetinotopy: e.target.checked })} />{' '}
          retinotopic map
        </label>
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${WIDTH} ${layout.height}`}
        className="plot rf-plot"
        role="img"
        aria-label={`Readout positions of ${geometry.neurons} neurons on the ${iw} by ${ih} pixel stimulus`}
        onMouseMove={(e) => {
          if (!delaunay) return;
          const box = svgRef.current!.getBoundingClientRect();
          const px = ((e.clientX - box.left) / box.width) * WIDTH;
          const py = ((e.clientY - box.top) / box.height) * layout.height;
          const n = delaunay.find(px, py);
          const dx = x(geometry.pixels[2 * n]) - px;
          const dy = y(geometry.pixels[2 * n + 1]) - py;
          hoverNeuron(dx * dx + dy * dy < 100 ? n : null);
        }}
        onMouseLeave={() => hoverNeuron(null)}
        onClick={() => selectNeuron(hovered)}
      >
        <defs>
          <clipPath id="rf-clip"><rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} /></clipPath>
        </defs>
        <rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} className="rf-frame" />
        <g clipPath="url(#rf-clip)">
          {stimulusUrl && (
            <image
              href={stimulusUrl} x={x(-0.5)} y={y(-0.5)} width={x(iw - 0.5) - x(-0.5)} height={y(ih - 0.5) - y(-0.5)}
              preserveAspectRatio="none" className="rf-stimulus"
            />
          )}
          <g className="rf-marks" data-testid="rf-marks">{marks}</g>
          {lattice && view.showRetinotopy && (
            <g data-testid="rf-lattice">
              <path d={lattice} className="rf-lattice-halo" />
              <path d={lattice} className="rf-lattice" />
            </g>
          )}
        </g>
        {ring(selected, 'mark-selected')}
        {ring(hovered, 'mark-hovered')}
        <g className="axis" transform={`translate(0,${M.top + layout.plotH})`} ref={(g) => { if (g) d3.select(g).call(d3.axisBottom(x).ticks(8)); }} />
        <g className="axis" transform={`translate(${M.left},0)`} ref={(g) => { if (g) d3.select(g).call(d3.axisLeft(y).ticks(4)); }} />
        <text className="axis-label" x={M.left + layout.plotW / 2} y={layout.height - 2} textAnchor="middle">stimulus x (pixels)</text>
      </svg>
      <div className="legend small">
        {colors ? (
          <>
            <span>cortical {view.colorAxis} {colors.lo.toFixed(2)}</span>
            <span className="legend-bar" style={{ background: gradientCss(view.colorMap) }} />
            <span>{colors.hi.toFixed(2)}</span>
            <span className="muted">({geometry.cortexDims === 3 ? 'cell_motor_coordinates, µm' : 'source_grid units'})</span>
          </>
        ) : (
          <span className="muted">This readout has free per-neuron positions, no cortical coordinates to color by.</span>
        )}
      </div>
      <p className="small" data-testid="rf-focus">
        {focus !== null && focus < geometry.neurons ? (
          <>
            <strong>neuron {focus}</strong>: at ({geometry.pixels[2 * focus].toFixed(1)}, {geometry.pixels[2 * focus + 1].toFixed(1)}) px
            {geometry.cortex ? <>, cortex ({geometry.cortex[focus * geometry.cortexDims].toFixed(3)}, {geometry.cortex[focus * geometry.cortexDims + 1].toFixed(3)})</> : null}
            {response(focus) !== null ? <>, response {response(focus)!.toFixed(3)}</> : null}
          </>
        ) : (
          <span className="muted">{geometry.neurons.toLocaleString('en-US')} neurons; hover for details, click to select.</span>
        )}
      </p>
    </section>
  );
}
