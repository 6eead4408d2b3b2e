/**
 * Learned Gaussians: each neuron's readout position distribution (mean mu, covariance Sigma Sigma^T) as its
 * confidence ellipse on the stimulus, in input pixels, colored by cortical position like the receptive-field
 * view, with a few positions drawn from it as a faint cloud. While a readout trains, its Gaussians and the
 * positions sampled for the current batch move here. Hover and click are linked with the other views.
 * A factorized readout has masks instead: loaded, their outlines (MaskOutlinesView); while one trains, the
 * worker's snapshots carry each mask's peak and spread only, drawn here as circles of that radius.
 */
import * as d3 from 'd3';
import { useMemo, useState } from 'react';
import {
  confidenceRadius,
  gridPositionsToPixels,
  pixelEllipses,
  sampledPixels,
} from '../../state/derived/gaussian_ellipses';
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import { useStore } from '../../state/store';
import { COLOR_MAPS } from '../colormaps';
import { CorticalLegend } from '../components/CorticalLegend';
import { corticalColorValues } from '../components/cortical_colors';
import { FieldPlot } from '../components/FieldPlot';
import { boundingBox, type FieldExtent, fieldLayout, frameAround } from '../components/field_layout';
import { useFieldGeometry } from '../hooks/use_field_geometry';
import { MaskOutlinesView } from './MaskOutlinesView';

/** Positions drawn per neuron for the cloud of a loaded (not training) readout. */
const DRAWS = 8;
/** Color levels of the cloud: one path per level keeps tens of thousands of points cheap to draw. */
const CLOUD_LEVELS = 16;

const CONFIDENCES: Array<{ p: number; label: string }> = [
  { p: 1 - Math.exp(-0.5), label: '39 % (1 σ)' },
  { p: 0.5, label: '50 %' },
  { p: 0.9, label: '90 %' },
  { p: 0.95, label: '95 %' },
  { p: 0.99, label: '99 %' },
];

/** Frame around the means, padded by a typical ellipse so most of them show whole, at the plot's aspect. */
function fitExtent(g: ReadoutGeometry, ellipses: Float32Array, aspect: number): FieldExtent {
  // The 90th percentile of the major semi-axes: a few huge Gaussians must not zoom everything out.
  const major = Float32Array.from({ length: g.neurons }, (_, n) => ellipses[3 * n]).sort();
  const pad = major[Math.floor(0.9 * (major.length - 1))] ?? 0;
  return frameAround(boundingBox(g.pixels.subarray(0, 2 * g.neurons)), aspect, pad, 1.1);
}

export function GaussiansView() {
  const { geometry } = useFieldGeometry();
  return geometry?.factorized ? <MaskOutlinesView geometry={geometry} /> : <GaussianEllipsesView />;
}

function GaussianEllipsesView() {
  // While a readout trains, its Gaussians move here; otherwise the loaded model's readout is shown.
  const { geometry, live } = useFieldGeometry();
  // A factorized readout being trained: peaks and spreads only (its masks come with the result).
  const spreads = geometry?.kind === 'factorized';
  const view = useStore((s) => s.view);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  // One standard deviation by default, the usual error ellipse.
  const [confidence, setConfidence] = useState(CONFIDENCES[0].p);
  const [showCloud, setShowCloud] = useState(true);
  const [zoom, setZoom] = useState(true);
  const [showStimulus, setShowStimulus] = useState(true);

  // A factorized readout's spread is one "sigma": its circle at radius 1.
  const level = spreads ? CONFIDENCES[0].p : confidence;
  const ellipses = useMemo(() => (geometry ? pixelEllipses(geometry, level) : null), [geometry, level]);

  const layout = useMemo(() => {
    if (!geometry || !ellipses) return null;
    // While training, the whole stimulus: a frame that followed the moving neurons would jump every second.
    return fieldLayout(
      geometry.imageSize,
      zoom && !live ? (aspect) => fitExtent(geometry, ellipses, aspect) : undefined,
    );
  }, [geometry, ellipses, zoom, live]);

  const colors = useMemo(
    () => (geometry ? corticalColorValues(geometry, view.colorAxis) : null),
    [geometry, view.colorAxis],
  );
  const interpolate = COLOR_MAPS[view.colorMap].interpolate;
  const colorOf = (n: number) => (colors ? interpolate(colors.t[n]) : '#3b528b');

  const cloud = useMemo(() => {
    if (!geometry || spreads) return null;
    if (live && live.sampledImages > 0 && live.sampledPositions.length === live.sampledImages * geometry.neurons * 2) {
      return {
        pixels: gridPositionsToPixels(geometry, live.sampledPositions),
        draws: live.sampledImages,
        fromTraining: true,
      };
    }
    return { pixels: sampledPixels(geometry, DRAWS), draws: DRAWS, fromTraining: false };
  }, [geometry, live, spreads]);

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
    return parts.map((p, level) =>
      p.length ? (
        <path
          key={level}
          d={p.join('')}
          className="gauss-cloud"
          stroke={colors ? interpolate((level + 0.5) / CLOUD_LEVELS) : '#3b528b'}
        />
      ) : null,
    );
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
          key={n}
          cx={cx}
          cy={cy}
          rx={ellipses[3 * n] * k}
          ry={ellipses[3 * n + 1] * k}
          transform={`rotate(${((ellipses[3 * n + 2] * 180) / Math.PI).toFixed(2)} ${cx.toFixed(2)} ${cy.toFixed(2)})`}
          stroke={color}
          fill={color}
          fillOpacity={(0.12 * fade).toFixed(3)}
          strokeOpacity={Math.max(0.1, ink * Math.sqrt(fade)).toFixed(3)}
        />
      );
    });
  }, [geometry, layout, ellipses, colors, interpolate]);

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
        <ellipse
          cx={cx}
          cy={cy}
          rx={Math.max(ellipses[3 * n] * k, 3)}
          ry={Math.max(ellipses[3 * n + 1] * k, 3)}
          transform={`rotate(${(ellipses[3 * n + 2] * 180) / Math.PI} ${cx} ${cy})`}
        />
        <circle cx={cx} cy={cy} r={1.5} />
      </g>
    );
  };
  const pct = CONFIDENCES.find((c) => c.p === confidence)?.label ?? `${(confidence * 100).toFixed(0)} %`;

  return (
    <section className="panel" aria-labelledby="gauss-title" data-testid="gaussians-view">
      <h2 id="gauss-title">
        {spreads ? 'Learned readout positions' : 'Learned Gaussians'}
        <span className="muted small" data-testid="gaussians-live">
          {live ? ` · training${spreads ? ' a factorized readout' : ''}: epoch ${live.epoch}, batch ${live.batch}` : ''}
        </span>
      </h2>
      {spreads ? (
        <p className="muted small">
          A factorized readout weights the core&apos;s features by a spatial mask per neuron. While it trains, each
          circle is centred on a mask&apos;s peak with the mask&apos;s spread (root mean square distance from its centre
          of mass) as radius; the masks&apos; outlines show once the result is explored.
        </p>
      ) : (
        <p className="muted small">
          While it trains, each neuron reads the core&apos;s features at a position drawn from its Gaussian (mean μ,
          covariance ΣΣᵀ); at evaluation it uses the mean. An ellipse holds the chosen share of those positions; the
          dots are such draws.
        </p>
      )}
      <div className="controls small">
        <label hidden={spreads}>
          confidence{' '}
          <select
            aria-label="Ellipse confidence"
            value={confidence}
            onChange={(e) => setConfidence(Number(e.target.value))}
          >
            {CONFIDENCES.map((c) => (
              <option key={c.p} value={c.p}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        <label hidden={spreads}>
          <input type="checkbox" checked={showCloud} onChange={(e) => setShowCloud(e.target.checked)} /> sampled
          positions
        </label>
        <label title="While training the whole stimulus is shown">
          <input type="checkbox" checked={zoom} disabled={live !== null} onChange={(e) => setZoom(e.target.checked)} />{' '}
          fit to the {spreads ? 'masks' : 'Gaussians'}
        </label>
        <label>
          <input type="checkbox" checked={showStimulus} onChange={(e) => setShowStimulus(e.target.checked)} /> show
          stimulus
        </label>
      </div>
      <FieldPlot
        geometry={geometry}
        layout={layout}
        className="gauss-plot"
        stimulusClassName="gauss-stimulus"
        showStimulus={showStimulus}
        label={
          spreads
            ? `Mask peaks and spreads of ${N} neurons of a factorized readout in training ` +
              `on the ${iw} by ${ih} pixel stimulus`
            : `${pct} confidence ellipses of ${N} neurons' readout positions on the ${iw} by ${ih} pixel stimulus`
        }
        // A wide Gaussian is hovered anywhere within its minor semi-axis of its mean, a small one within 10 units.
        pickRadius={(n) => Math.max(10, ellipses[3 * n + 1] * k)}
      >
        <g data-testid="gaussian-cloud">{cloudPaths}</g>
        <g className="gauss-ellipses" data-testid="gaussian-ellipses">
          {marks}
        </g>
        {outline(selected, 'gauss-selected')}
        {outline(hovered, 'gauss-hovered')}
      </FieldPlot>
      <CorticalLegend
        colors={colors}
        axis={view.colorAxis}
        colorMap={view.colorMap}
        cortexDims={geometry.cortexDims}
        unitsNote="; as in Receptive fields"
        noColors="Free per-neuron positions: no cortical coordinates to color by."
      >
        {spreads ? (
          <span className="muted" data-testid="gaussians-cloud-note">
            · circles: each mask&apos;s peak and spread (live from training)
          </span>
        ) : (
          <span className="muted" data-testid="gaussians-cloud-note">
            · ellipse radius {confidenceRadius(confidence).toFixed(2)} (noise units) · dots:{' '}
            {cloud?.fromTraining
              ? `positions drawn for the batch's first ${cloud.draws} images`
              : `${DRAWS} draws per neuron`}
          </span>
        )}
      </CorticalLegend>
      <p className="small" data-testid="gaussians-focus">
        {focus !== null && focus < N ? (
          <>
            <strong>neuron {focus}</strong>: {spreads ? 'mask peak' : 'mean'} ({geometry.pixels[2 * focus].toFixed(2)},{' '}
            {geometry.pixels[2 * focus + 1].toFixed(2)}) px;{' '}
            {spreads ? 'spread' : `${pct.replace(/ \(.*/, '')} ellipse`} {ellipses[3 * focus].toFixed(2)} ×{' '}
            {ellipses[3 * focus + 1].toFixed(2)} px (semi-axes), major axis at{' '}
            {(((ellipses[3 * focus + 2] * 180) / Math.PI + 180) % 180).toFixed(0)}°
            <span className="swatch" style={{ background: colorOf(focus) }} />
          </>
        ) : (
          <span className="muted">
            {N.toLocaleString('en-US')} neurons, {spreads ? 'factorized (masks); ' : `Σ ${geometry.gaussType}; `}
            median major semi-axis {d3.median(Array.from({ length: N }, (_v, n) => ellipses[3 * n]))?.toFixed(2)} px.
            Hover for details, click to select.
          </span>
        )}
      </p>
    </section>
  );
}
