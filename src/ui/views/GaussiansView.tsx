/**
 * Learned Gaussians: each neuron's readout position distribution (mean mu, covariance Sigma Sigma^T) as its
 * confidence ellipse on the stimulus, in input pixels, colored by cortical position like the receptive-field
 * view, with a few positions drawn from it as a faint cloud. While a readout trains, its Gaussians and the
 * positions sampled for the current batch move here. Hover and click are linked with the other views.
 */
import * as d3 from 'd3';
import { useId, useMemo, useRef, useState } from 'react';
import {
  confidenceRadius, gridPositionsToPixels, pixelEllipses, sampledPixels,
} from '../../state/gaussian_ellipses';
import { snapshotGeometry, type ReadoutGeometry } from '../../state/readout_geometry';
import { useStore } from '../../state/store';
import { COLOR_MAPS, gradientCss } from '../colormaps';
import { corticalColorValues } from '../components/cortical_colors';
import { stimulusDataUrl } from '../components/stimulus';

const WIDTH = 560;
const M = { top: 8, right: 8, bottom: 38, left: 36 };
/** Positions drawn per neuron for the cloud of a loaded (not training) readout. */
const DRAWS = 8;
/** Color levels of the cloud: one path per level keeps tens of thousands of points cheap to draw. */
const CLOUD_LEVELS = 16;
const LIVE = new Set(['training', 'paused', 'evaluating', 'exporting']);

const CONFIDENCES: Array<{ p: number; label: string }> = [
  { p: 1 - Math.exp(-0.5), label: '39 % (1 σ)' },
  { p: 0.5, label: '50 %' },
  { p: 0.9, label: '90 %' },
  { p: 0.95, label: '95 %' },
  { p: 0.99, label: '99 %' },
];

/** Frame around the means, padded by a typical ellipse so most of them show whole, at the plot's aspect. */
function fitExtent(g: ReadoutGeometry, ellipses: Float32Array, aspect: number): [number, number, number, number] {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let n = 0; n < g.neurons; n++) {
    const px = g.pixels[2 * n], py = g.pixels[2 * n + 1];
    x0 = Math.min(x0, px); x1 = Math.max(x1, px); y0 = Math.min(y0, py); y1 = Math.max(y1, py);
  }
  // The 90th percentile of the major semi-axes: a few huge Gaussians must not zoom everything out.
  const major = Float32Array.from({ length: g.neurons }, (_, n) => ellipses[3 * n]).sort();
  const pad = major[Math.floor(0.9 * (major.length - 1))] ?? 0;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  let w = (Math.max(x1 - x0, 2) + 2 * pad) * 1.1;
  let h = (Math.max(y1 - y0, 2) + 2 * pad) * 1.1;
  if (w / h > aspect) h = w / aspect; else w = h * aspect;
  return [cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2];
}

export function GaussiansView() {
  const modelGeometry = useStore((s) => s.geometry);
  const snapshot = useStore((s) => s.snapshot);
  const trainingPhase = useStore((s) => s.trainingPhase);
  const scan = useStore((s) => s.scan);
  const live = snapshot !== null && LIVE.has(trainingPhase);
  const geometry = useMemo(
    () => (live && modelGeometry ? snapshotGeometry(snapshot, modelGeometry, scan?.cellMotorCoordinates) : modelGeometry),
    [live, snapshot, modelGeometry, scan],
  );
  const images = useStore((s) => s.images);
  const imageIndex = useStore((s) => s.selectedImage);
  const view = useStore((s) => s.view);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const hoverNeuron = useStore((s) => s.hoverNeuron);
  const selectNeuron = useStore((s) => s.selectNeuron);
  // One standard deviation by default, the usual error ellipse.
  const [confidence, setConfidence] = useState(CONFIDENCES[0].p);
  const [showCloud, setShowCloud] = useState(true);
  const [zoom, setZoom] = useState(true);
  const [showStimulus, setShowStimulus] = useState(true);
  const svgRef = useRef<SVGSVGElement>(null);
  const clipId = `gauss-clip${useId().replace(/[^\w-]/g, '')}`;

  const ellipses = useMemo(() => (geometry ? pixelEllipses(geometry, confidence) : null), [geometry, confidence]);

  const layout = useMemo(() => {
    if (!geometry || !ellipses) return null;
    const [ih, iw] = geometry.imageSize;
    const plotW = WIDTH - M.left - M.right;
    const plotH = (plotW * ih) / iw;
    // While training, the whole stimulus: a frame that followed the moving neurons would jump every second.
    let [x0, x1, y0, y1] = [-0.5, iw - 0.5, -0.5, ih - 0.5];
    if (zoom && !live) [x0, x1, y0, y1] = fitExtent(geometry, ellipses, plotW / plotH);
    const x = d3.scaleLinear().domain([x0, x1]).range([M.left, M.left + plotW]);
    const y = d3.scaleLinear().domain([y0, y1]).range([M.top, M.top + plotH]);
    // Screen units per image pixel (the same along x and y: the frame keeps the image's aspect).
    return { x, y, k: plotW / (x1 - x0), height: M.top + plotH + M.bottom, plotW, plotH };
  }, [geometry, ellipses, zoom, live]);

  const colors = useMemo(() => (geometry ? corticalColorValues(geometry, view.colorAxis) : null), [geometry, view.colorAxis]);
  const interpolate = COLOR_MAPS[view.colorMap].interpolate;
  const colorOf = (n: number) => (colors ? interpolate(colors.t[n]) : '#3b528b');

  const cloud = useMemo(() => {
    if (!geometry) return null;
    if (live && snapshot && snapshot.sampledImages > 0 && snapshot.sampledPositions.length === snapshot.sampledImages * geometry.neurons * 2) {
      return { pixels: gridPositionsToPixels(geometry, snapshot.sampledPositions), draws: snapshot.sampledImages, fromTraining: true };
    }
    return { pixels: sampledPixels(geometry, DRAWS), draws: DRAWS, fromTraining: false };
  }, [geometry, live, snapshot]);

  const cloudPaths = useMemo(() => {
    if (!geometry || !layout || !cloud || !showCloud) return null;
    const N = geometry.neurons;
    const parts: string[][] = Array.from({ length: CLOUD_LEVELS }, () => []);
    for (let s = 0; s < cloud.draws; s++) {
      for (let n = 0; n < N; n++) {
        const i = 2 * (s * N + n);
        const level = colors ? Math.min(CLOUD_LEVELS - 1, Math.floor(colors.t[n] * CLOUD_LEVELS)) : 0;
        parts[level].push(`M${layout.x(cloud.pixels[i]).toFixed(1)},${layout.y(cloud.pixels[i + 1]).toFixed(1)}h0`);
      }
    }
    return parts.map((p, level) => (p.length ? (
      <path key={level} d={p.join('')} className="gauss-cloud" stroke={colors ? interpolate((level + 0.5) / CLOUD_LEVELS) : '#3b528b'} />
    ) : null));
  }, [geometry, layout, cloud, showCloud, colors, interpolate]);

  const marks = useMemo(() => {
    if (!geometry || !layout || !ellipses) return null;
    const { x, y, k } = layout;
    const N = geometry.neurons;
    // The few very wide Gaussians would otherwise paint over everything: ink fades with the area beyond a
    // few times the median, so overlapping ellipses read as density.
    const area = Float32Array.from({ length: N }, (_, n) => ellipses[3 * n] * ellipses[3 * n + 1]);
    const typical = 4 * (d3.median(area) || 1e-9);
    // Thousands of overlapping outlines read as a solid blob: lighter ink the more neurons there are.
    const ink = Math.min(0.9, Math.max(0.25, 0.9 * Math.sqrt(1000 / N)));
    return Array.from({ length: N }, (_v, n) => {
      const cx = x(geometry.pixels[2 * n]);
      const cy = y(geometry.pixels[2 * n + 1]);
      const color = colors ? interpolate(colors.t[n]) : '#3b528b';
      const fade = Math.min(1, typical / Math.max(area[n], 1e-12));
      return (
        <ellipse
          key={n} cx={cx} cy={cy} rx={ellipses[3 * n] * k} ry={ellipses[3 * n + 1] * k}
          transform={`rotate(${((ellipses[3 * n + 2] * 180) / Math.PI).toFixed(2)} ${cx.toFixed(2)} ${cy.toFixed(2)})`}
          stroke={color} fill={color} fillOpacity={(0.12 * fade).toFixed(3)} strokeOpacity={Math.max(0.1, ink * Math.sqrt(fade)).toFixed(3)}
        />
      );
    });
  }, [geometry, layout, ellipses, colors, interpolate]);

  const delaunay = useMemo(() => {
    if (!geometry || !layout) return null;
    const p = geometry.pixels;
    return d3.Delaunay.from({ length: geometry.neurons }, (_v, n) => layout.x(p[2 * n]), (_v, n) => layout.y(p[2 * n + 1]));
  }, [geometry, layout]);

  const stimulusUrl = useMemo(
    () => (images && showStimulus && imageIndex < images.shape[0] ? stimulusDataUrl(images, imageIndex) : null),
    [images, imageIndex, showStimulus],
  );

  if (!geometry || !layout || !ellipses) return null;
  const { x, y, k } = layout;
  const [ih, iw] = geometry.imageSize;
  const N = geometry.neurons;
  const focus = hovered ?? selected;
  const outline = (n: number | null, cls: string) => {
    if (n === null || n >= N) return null;
    const cx = x(geometry.pixels[2 * n]);
    const cy = y(geometry.pixels[2 * n + 1]);
    return (
      <g className={cls}>
        <ellipse cx={cx} cy={cy} rx={Math.max(ellipses[3 * n] * k, 3)} ry={Math.max(ellipses[3 * n + 1] * k, 3)}
          transform={`rotate(${(ellipses[3 * n + 2] * 180) / Math.PI} ${cx} ${cy})`} />
        <circle cx={cx} cy={cy} r={1.5} />
      </g>
    );
  };
  const pct = CONFIDENCES.find((c) => c.p === confidence)?.label ?? `${(confidence * 100).toFixed(0)} %`;

  return (
    <section className="panel" aria-labelledby="gauss-title" data-testid="gaussians-view">
      <h2 id="gauss-title">
        Learned Gaussians
        <span className="muted small" data-testid="gaussians-live">
          {live ? ` · training: epoch ${snapshot.epoch}, batch ${snapshot.batch}` : ''}
        </span>
      </h2>
      <p className="muted small">
        While it trains, each neuron reads the core&apos;s features at a position drawn from its Gaussian (mean μ, covariance ΣΣᵀ);
        at evaluation it uses the mean. An ellipse holds the chosen share of those positions; the dots are such draws.
      </p>
      <div className="controls small">
        <label>
          confidence{' '}
          <select aria-label="Ellipse confidence" value={confidence} onChange={(e) => setConfidence(Number(e.target.value))}>
            {CONFIDENCES.map((c) => <option key={c.p} value={c.p}>{c.label}</option>)}
          </select>
        </label>
        <label><input type="checkbox" checked={showCloud} onChange={(e) => setShowCloud(e.target.checked)} /> sampled positions</label>
        <label title="While training the whole stimulus is shown">
          <input type="checkbox" checked={zoom} disabled={live} onChange={(e) => setZoom(e.target.checked)} /> fit to the Gaussians
        </label>
        <label><input type="checkbox" checked={showStimulus} onChange={(e) => setShowStimulus(e.target.checked)} /> show stimulus</label>
      </div>
      <svg
        ref={svgRef}
        viewBox={`0 0 ${WIDTH} ${layout.height}`}
        className="plot gauss-plot"
        role="img"
        aria-label={`${pct} confidence ellipses of ${N} neurons' readout positions on the ${iw} by ${ih} pixel stimulus`}
        onMouseMove={(e) => {
          if (!delaunay) return;
          const box = svgRef.current!.getBoundingClientRect();
          const px = ((e.clientX - box.left) / box.width) * WIDTH;
          const py = ((e.clientY - box.top) / box.height) * layout.height;
          const n = delaunay.find(px, py);
          const d = Math.hypot(x(geometry.pixels[2 * n]) - px, y(geometry.pixels[2 * n + 1]) - py);
          hoverNeuron(d < Math.max(10, ellipses[3 * n + 1] * k) ? n : null);
        }}
        onMouseLeave={() => hoverNeuron(null)}
        onClick={() => selectNeuron(hovered)}
      >
        <defs>
          <clipPath id={clipId}><rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} /></clipPath>
        </defs>
        <rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} className="rf-frame" />
        <g clipPath={`url(#${clipId})`}>
          {stimulusUrl && (
            <image
              href={stimulusUrl} x={x(-0.5)} y={y(-0.5)} width={x(iw - 0.5) - x(-0.5)} height={y(ih - 0.5) - y(-0.5)}
              preserveAspectRatio="none" className="gauss-stimulus"
            />
          )}
          <g data-testid="gaussian-cloud">{cloudPaths}</g>
          <g className="gauss-ellipses" data-testid="gaussian-ellipses">{marks}</g>
          {outline(selected, 'gauss-selected')}
          {outline(hovered, 'gauss-hovered')}
        </g>
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
            <span className="muted">({geometry.cortexDims === 3 ? 'cell_motor_coordinates, µm' : 'source_grid units'}; as in Receptive fields)</span>
          </>
        ) : (
          <span className="muted">Free per-neuron positions: no cortical coordinates to color by.</span>
        )}
        <span className="muted" data-testid="gaussians-cloud-note">
          · ellipse radius {confidenceRadius(confidence).toFixed(2)} (noise units) · dots: {cloud?.fromTraining
            ? `positions drawn for the batch's first ${cloud.draws} images`
            : `${DRAWS} draws per neuron`}
        </span>
      </div>
      <p className="small" data-testid="gaussians-focus">
        {focus !== null && focus < N ? (
          <>
            <strong>neuron {focus}</strong>: mean ({geometry.pixels[2 * focus].toFixed(2)}, {geometry.pixels[2 * focus + 1].toFixed(2)}) px;
            {' '}{pct.replace(/ \(.*/, '')} ellipse {ellipses[3 * focus].toFixed(2)} × {ellipses[3 * focus + 1].toFixed(2)} px (semi-axes),
            {' '}major axis at {(((ellipses[3 * focus + 2] * 180) / Math.PI + 180) % 180).toFixed(0)}°
            <span className="swatch" style={{ background: colorOf(focus) }} />
          </>
        ) : (
          <span className="muted">
            {N.toLocaleString('en-US')} neurons, Σ {geometry.gaussType}; median major semi-axis {d3.median(Array.from({ length: N }, (_v, n) => ellipses[3 * n]))?.toFixed(2)} px.
            Hover for details, click to select.
          </span>
        )}
      </p>
    </section>
  );
}
