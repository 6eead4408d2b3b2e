/**
 * The neurons' feature vectors embedded in 2-D, one dot per neuron colored by its category (cluster or true
 * type), equal units on both axes. Hover and click go to the app-wide selection (NeuronPickSvg), so the
 * neuron is the hovered / selected one in every view. Dots outside an emphasized category are faded.
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import { useStore } from '../../../state/store';
import { NeuronPickSvg } from '../../components/NeuronPickSvg';
import { PlotAxes } from '../../components/PlotAxes';
import { categoryColor, UNCLUSTERED } from './palette';

const SIZE = 340;
const M = { top: 10, right: 10, bottom: 34, left: 40 };

interface Props {
  /** (N, 2) row-major. */
  coords: Float64Array;
  /** Category of each neuron (its color slot), or null: all one color. */
  categories: ArrayLike<number> | null;
  /** Category whose dots stay bright while the others fade, or null. */
  emphasized: number | null;
  xLabel: string;
  yLabel: string;
  /** Tick labels mean nothing for UMAP: hide them. */
  ticks: boolean;
  label: string;
  testId: string;
}

export function EmbeddingScatter({ coords, categories, emphasized, xLabel, yLabel, ticks, label, testId }: Props) {
  const N = coords.length / 2;
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);

  const scales = useMemo(() => {
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let n = 0; n < N; n++) {
      x0 = Math.min(x0, coords[2 * n]);
      x1 = Math.max(x1, coords[2 * n]);
      y0 = Math.min(y0, coords[2 * n + 1]);
      y1 = Math.max(y1, coords[2 * n + 1]);
    }
    // One unit is as long on both axes (PCA distances stay true), the data centred in the square, 5% margin.
    const w = SIZE - M.left - M.right;
    const h = SIZE - M.top - M.bottom;
    const span = Math.max(x1 - x0, ((y1 - y0) * w) / h, 1e-9) * 1.1;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const spanY = (span * h) / w;
    const x = d3
      .scaleLinear()
      .domain([cx - span / 2, cx + span / 2])
      .range([M.left, SIZE - M.right]);
    const y = d3
      .scaleLinear()
      .domain([cy - spanY / 2, cy + spanY / 2])
      .range([SIZE - M.bottom, M.top]);
    return { x, y };
  }, [coords, N]);
  const { x, y } = scales;
  const r = N > 2000 ? 1.4 : N > 600 ? 2 : 2.6;

  const dots = useMemo(
    () =>
      Array.from({ length: N }, (_v, n) => {
        const cat = categories ? categories[n] : -1;
        return (
          <circle
            key={n}
            cx={x(coords[2 * n])}
            cy={y(coords[2 * n + 1])}
            r={r}
            fill={categories ? categoryColor(cat) : UNCLUSTERED}
            opacity={emphasized !== null && cat !== emphasized ? 0.12 : 0.85}
            data-category={categories ? cat : undefined}
          />
        );
      }),
    [coords, categories, emphasized, N, x, y, r],
  );

  const delaunay = useMemo(
    () =>
      d3.Delaunay.from(
        { length: N },
        (_v, n) => x(coords[2 * n]),
        (_v, n) => y(coords[2 * n + 1]),
      ),
    [coords, N, x, y],
  );
  const ring = (n: number | null, cls: string) =>
    n === null || n >= N ? null : (
      <circle className={cls} cx={x(coords[2 * n])} cy={y(coords[2 * n + 1])} r={cls === 'mark-selected' ? 5.5 : 4.5} />
    );

  return (
    <NeuronPickSvg
      width={SIZE}
      height={SIZE}
      className="plot scatter cell-types-scatter"
      label={label}
      delaunay={delaunay}
      at={(n) => [x(coords[2 * n]), y(coords[2 * n + 1])]}
      radius={8}
    >
      <rect
        className="cell-types-frame"
        x={M.left}
        y={M.top}
        width={SIZE - M.left - M.right}
        height={SIZE - M.top - M.bottom}
      />
      <g className="cell-types-dots" data-testid={testId} data-points={N}>
        {dots}
      </g>
      {ring(selected, 'mark-selected')}
      {ring(hovered, 'mark-hovered')}
      <PlotAxes x={x} y={y} width={SIZE} height={SIZE} margin={M} xLabel={xLabel} yLabel={yLabel} showTicks={ticks} />
    </NeuronPickSvg>
  );
}
