/**
 * A neuron's feature weights, one signed bar per core channel (its "barcode"): height and direction give the
 * weight, the diverging color repeats the sign so it reads at a glance without relying on hue alone.
 * Each bar carries its channel and exact value as data attributes (the browser tests read them).
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import { divergingInterpolate, fmt } from '../core/heatmap';

const WIDTH = 560;
const HEIGHT = 150;
const M = { top: 8, right: 8, bottom: 26, left: 44 };

/** Bars never fade into the background: |w| maps onto the outer 70% of each arm of the diverging map. */
function barColor(w: number, limit: number): string {
  const a = limit > 0 ? Math.min(1, Math.abs(w) / limit) : 0;
  const t = 0.15 + 0.35 * a;
  return divergingInterpolate(w < 0 ? 0.5 - t : 0.5 + t);
}

export function Barcode({
  weights,
  neuron,
  picked,
  onPick,
}: {
  weights: Float32Array;
  neuron: number;
  picked: number | null;
  onPick(c: number): void;
}) {
  const C = weights.length;
  const scales = useMemo(() => {
    const limit = Math.max(1e-12, d3.max(weights, (w) => Math.abs(w)) ?? 1);
    const x = d3
      .scaleBand<number>()
      .domain(d3.range(C))
      .range([M.left, WIDTH - M.right])
      .paddingInner(0.15);
    const y = d3
      .scaleLinear()
      .domain([-limit, limit])
      .nice()
      .range([HEIGHT - M.bottom, M.top]);
    return { x, y, limit };
  }, [weights, C]);
  const { x, y, limit } = scales;
  const zero = y(0);
  const tickEvery = C > 32 ? 8 : C > 8 ? 4 : 1;
  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      className="plot barcode"
      style={{ maxWidth: 760 }}
      role="img"
      aria-label={`Feature weights of neuron ${neuron} over ${C} channels`}
      data-testid="barcode"
      data-neuron={neuron}
    >
      <g
        className="axis"
        transform={`translate(${M.left},0)`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisLeft(y).ticks(4));
        }}
      />
      <g
        className="axis"
        transform={`translate(0,${HEIGHT - M.bottom})`}
        ref={(g) => {
          if (g)
            d3.select(g).call(
              d3
                .axisBottom(x)
                .tickValues(d3.range(0, C, tickEvery))
                .tickSizeOuter(0),
            );
        }}
      />
      <text className="axis-label" x={(M.left + WIDTH - M.right) / 2} y={HEIGHT - 1} textAnchor="middle">
        core channel
      </text>
      <text
        className="axis-label"
        transform={`translate(11,${(HEIGHT - M.bottom + M.top) / 2}) rotate(-90)`}
        textAnchor="middle"
      >
        weight
      </text>
      <line x1={M.left} x2={WIDTH - M.right} y1={zero} y2={zero} stroke="#8c96a5" />
      {Array.from(weights, (w, c) => (
        <rect
          key={c}
          className={`bar${picked === c ? ' picked' : ''}`}
          x={x(c)}
          width={x.bandwidth()}
          y={Math.min(zero, y(w))}
          height={Math.max(0.5, Math.abs(y(w) - zero))}
          fill={barColor(w, limit)}
          data-channel={c}
          data-value={w}
          onClick={() => onPick(c)}
          style={{ cursor: 'pointer' }}
        >
          <title>
            channel {c}: weight {fmt(w, 4)}
          </title>
        </rect>
      ))}
    </svg>
  );
}
