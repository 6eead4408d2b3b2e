/** Histogram of the neurons' single-trial test correlations, with the mean and the focused neuron marked. */
import * as d3 from 'd3';
import { useMemo } from 'react';
import { PlotAxes } from '../../components/PlotAxes';
import type { NeuronFocus } from './neuron_focus';

const WIDTH = 420;
const HEIGHT = 260;
const M = { top: 14, right: 12, bottom: 38, left: 44 };

export function Histogram({ values, focus }: { values: Float64Array; focus: NeuronFocus }) {
  const plot = useMemo(() => {
    const finite = Array.from(values).filter(Number.isFinite);
    const lo = Math.min(0, d3.min(finite) ?? 0);
    const x = d3
      .scaleLinear()
      .domain([lo, 1])
      .nice()
      .range([M.left, WIDTH - M.right]);
    const bins = d3
      .bin()
      .domain(x.domain() as [number, number])
      .thresholds(x.ticks(40))(finite);
    const y = d3
      .scaleLinear()
      .domain([0, d3.max(bins, (b) => b.length) ?? 1])
      .nice()
      .range([HEIGHT - M.bottom, M.top]);
    return { x, y, bins, mean: d3.mean(finite) ?? NaN };
  }, [values]);
  const { x, y, bins, mean } = plot;
  const n = focus.hovered ?? focus.selected;
  const marker = n !== null && n < values.length && Number.isFinite(values[n]) ? values[n] : null;

  return (
    <figure className="figure" data-testid="corr-histogram">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="plot"
        role="img"
        aria-label={`Histogram of ${values.length} neurons' test correlations, mean ${mean.toFixed(3)}`}
      >
        <g className="hist-bars">
          {bins.map((b, i) => (
            <rect
              key={i}
              x={x(b.x0!) + 0.5}
              width={Math.max(0, x(b.x1!) - x(b.x0!) - 1)}
              y={y(b.length)}
              height={y(0) - y(b.length)}
            >
              <title>{`${b.x0!.toFixed(3)} to ${b.x1!.toFixed(3)}: ${b.length} neurons`}</title>
            </rect>
          ))}
        </g>
        <line className="mean-line" x1={x(mean)} x2={x(mean)} y1={M.top - 4} y2={HEIGHT - M.bottom} />
        <text className="mean-label" x={x(mean) + 4} y={M.top + 6}>
          mean {mean.toFixed(3)}
        </text>
        {marker !== null && (
          <line
            className="focus-line"
            x1={x(marker)}
            x2={x(marker)}
            y1={M.top}
            y2={HEIGHT - M.bottom}
            data-testid="hist-focus"
          />
        )}
        <PlotAxes
          x={x}
          y={y}
          width={WIDTH}
          height={HEIGHT}
          margin={M}
          xLabel="single-trial test correlation"
          yLabel="neurons"
          xTicks={6}
        />
      </svg>
    </figure>
  );
}
