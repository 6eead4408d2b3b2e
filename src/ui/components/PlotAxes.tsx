/**
 * The bottom and left axes of a d3 plot with their labels, as the scatter plots and the histogram draw them
 * (ticks by d3; the x label under the plot, the y label turned along the left edge).
 */
import * as d3 from 'd3';

export interface Margins {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

export function PlotAxes({
  x,
  y,
  width,
  height,
  margin: M,
  xLabel,
  yLabel,
  xTicks = 5,
  yTicks = 5,
  showTicks = true,
}: {
  x: d3.ScaleLinear<number, number>;
  y: d3.ScaleLinear<number, number>;
  /** The plot's viewBox size. */
  width: number;
  height: number;
  margin: Margins;
  xLabel: string;
  yLabel: string;
  xTicks?: number;
  yTicks?: number;
  /** false: labels only (an embedding's axes have no units worth ticking). */
  showTicks?: boolean;
}) {
  return (
    <>
      {showTicks && (
        <>
          <g
            className="axis"
            transform={`translate(0,${height - M.bottom})`}
            ref={(g) => {
              if (g) d3.select(g).call(d3.axisBottom(x).ticks(xTicks));
            }}
          />
          <g
            className="axis"
            transform={`translate(${M.left},0)`}
            ref={(g) => {
              if (g) d3.select(g).call(d3.axisLeft(y).ticks(yTicks));
            }}
          />
        </>
      )}
      <text className="axis-label" x={(M.left + width - M.right) / 2} y={height - 4} textAnchor="middle">
        {xLabel}
      </text>
      <text
        className="axis-label"
        transform={`translate(12,${(height - M.bottom + M.top) / 2}) rotate(-90)`}
        textAnchor="middle"
      >
        {yLabel}
      </text>
    </>
  );
}
