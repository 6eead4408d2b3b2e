/**
 * Learned readout positions of a factorized readout (Klindt et al. 2017's "where"): each neuron's spatial mask as
 * its outline at a fraction of its largest |weight| (half maximum by default) on the stimulus, in input pixels,
 * with a dot at the neuron's position (the mask's peak or centre of mass, as the receptive-field view places it).
 * What the Learned Gaussians tab shows when the loaded readout is a FullFactorized2d. Hover and click are linked.
 */
import * as d3 from 'd3';
import { useMemo, useState } from 'react';
import { maskOutlines, outlinePath } from '../../state/derived/mask_contours';
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import { useStore } from '../../state/store';
import { FieldPlot } from '../components/FieldPlot';
import { boundingBox, type FieldExtent, fieldLayout, frameAround } from '../components/field_layout';
import { MaskPositionSelect, positionSourceText } from '../components/MaskPosition';

const LEVELS: Array<{ level: number; label: string }> = [
  { level: 0.25, label: '25 % of its maximum' },
  { level: 0.5, label: 'half maximum' },
  { level: 0.75, label: '75 % of its maximum' },
];

/** Neurons in categorical colors (no cortical coordinates to color by): neighbours in index differ. */
const colorOf = (n: number): string => d3.schemeTableau10[n % 10];

/** Frame around the outlines (all of them: masks are where the neurons look). */
function fitExtent(outlines: Array<Array<Array<[number, number]>>>, pixels: Float32Array, aspect: number): FieldExtent {
  const points = outlines.flat(2);
  const box = boundingBox(points.flat(), boundingBox(pixels));
  return frameAround(box, aspect, 0, 1.1);
}

export function MaskOutlinesView({ geometry }: { geometry: ReadoutGeometry }) {
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const [level, setLevel] = useState(0.5);
  const [zoom, setZoom] = useState(true);
  const [showStimulus, setShowStimulus] = useState(true);
  const f = geometry.factorized!;
  const N = geometry.neurons;

  const outlines = useMemo(() => maskOutlines(geometry, level) ?? [], [geometry, level]);
  const layout = useMemo(
    () => fieldLayout(geometry.imageSize, zoom ? (aspect) => fitExtent(outlines, geometry.pixels, aspect) : undefined),
    [geometry, outlines, zoom],
  );
  const paths = useMemo(() => outlines.map((o) => outlinePath(o, layout.x, layout.y)), [outlines, layout]);

  const marks = useMemo(() => {
    // Thousands of overlapping outlines read as a solid blob: lighter ink the more neurons there are.
    const ink = Math.min(0.9, Math.max(0.25, 0.9 * Math.sqrt(1000 / N)));
    return paths.map((d, n) => (
      <g key={n}>
        {d && (
          <path d={d} stroke={colorOf(n)} fill={colorOf(n)} fillOpacity={0.1} strokeOpacity={ink} fillRule="evenodd" />
        )}
        <circle
          cx={layout.x(geometry.pixels[2 * n])}
          cy={layout.y(geometry.pixels[2 * n + 1])}
          r={1.6}
          fill={colorOf(n)}
        />
      </g>
    ));
  }, [paths, layout, geometry, N]);

  const [ih, iw] = geometry.imageSize;
  const focus = hovered ?? selected;
  const outline = (n: number | null, cls: string) => {
    if (n === null || n >= N) return null;
    return (
      <g className={cls}>
        {paths[n] && <path d={paths[n]} fillRule="evenodd" />}
        <circle cx={layout.x(geometry.pixels[2 * n])} cy={layout.y(geometry.pixels[2 * n + 1])} r={2} />
      </g>
    );
  };
  const label = LEVELS.find((l) => l.level === level)?.label ?? `${(level * 100).toFixed(0)} %`;
  const g = f.geometry;
  const pxPerFeature = Math.abs(geometry.mapX.scale);
  const medianSize = d3.median(Array.from(g.halfMaxPixels)) ?? 0;

  return (
    <section className="panel" aria-labelledby="gauss-title" data-testid="gaussians-view" data-kind="factorized">
      <h2 id="gauss-title">
        Learned readout positions
        <span className="muted small"> · factorized readout: spatial masks</span>
        <span className="muted small" data-testid="gaussians-live" />
      </h2>
      <p className="muted small">
        A factorized readout (Klindt et al. 2017) has no Gaussian: each neuron weights the core&apos;s features at every
        position by its own spatial mask (&ldquo;where&rdquo;) and over the channels by its feature vector
        (&ldquo;what&rdquo;). An outline encloses where a mask&apos;s |weight| is at least{' '}
        {label === 'half maximum' ? 'half' : label.replace(/ of its maximum/, '')} of its largest; the dot is the
        neuron&apos;s position, {positionSourceText(geometry)}.
      </p>
      <div className="controls small">
        <label>
          outline at{' '}
          <select
            aria-label="Mask outline level"
            data-testid="mask-level"
            value={level}
            onChange={(e) => setLevel(Number(e.target.value))}
          >
            {LEVELS.map((l) => (
              <option key={l.level} value={l.level}>
                {l.label}
              </option>
            ))}
          </select>
        </label>
        <MaskPositionSelect geometry={geometry} />
        <label>
          <input type="checkbox" checked={zoom} onChange={(e) => setZoom(e.target.checked)} /> fit to the masks
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
        label={`Spatial masks of ${N} neurons, outlined at ${label}, on the ${iw} by ${ih} pixel stimulus`}
      >
        <g className="gauss-ellipses mask-outlines" data-testid="mask-outlines" data-level={level}>
          {marks}
        </g>
        {outline(selected, 'gauss-selected')}
        {outline(hovered, 'gauss-hovered')}
      </FieldPlot>
      <div className="legend small">
        <span className="muted" data-testid="mask-legend">
          Outlines at {label} of each mask&apos;s |weight| (marching squares on the {f.width}×{f.height} feature map,{' '}
          {pxPerFeature === 1 ? '1 stimulus pixel' : `${pxPerFeature} stimulus pixels`} per feature pixel) · dots:{' '}
          {positionSourceText(geometry)} · colors tell neighbouring neurons apart (no cortical coordinates)
        </span>
      </div>
      <p className="small" data-testid="gaussians-focus">
        {focus !== null && focus < N ? (
          <>
            <strong>neuron {focus}</strong>: {geometry.position === 'centroid' ? 'centre of mass' : 'peak'} (
            {geometry.pixels[2 * focus].toFixed(2)}, {geometry.pixels[2 * focus + 1].toFixed(2)}) px;{' '}
            {g.halfMaxPixels[focus]} feature pixels above half maximum; spread (RMS radius) {g.spread[focus].toFixed(2)}{' '}
            feature pixels
            <span className="swatch" style={{ background: colorOf(focus) }} />
          </>
        ) : (
          <span className="muted">
            {N.toLocaleString('en-US')} neurons, masks {f.width}×{f.height}
            {f.options.normalize ? ' (L2-normalized)' : ''}; median {medianSize} feature pixels above half maximum.
            Hover for details, click to select.
          </span>
        )}
      </p>
    </section>
  );
}
