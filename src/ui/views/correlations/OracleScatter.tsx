/**
 * Test correlation against oracle correlation, one dot per neuron, with the fraction-oracle line (the
 * least-squares slope through the origin, Lurz et al. 2020) and the diagonal where a model would reach the
 * oracle. Hover and click pick neurons.
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import { NeuronPickSvg } from '../../components/NeuronPickSvg';
import { PlotAxes } from '../../components/PlotAxes';
import type { NeuronFocus } from './neuron_focus';

const SIZE = 300;
const M = { top: 12, right: 14, bottom: 38, left: 44 };

interface Props {
  oracle: Float64Array;
  test: Float64Array;
  /** The fraction oracle (slope), or null when undefined. */
  slope: number | null;
  focus: NeuronFocus;
}

export function OracleScatter({ oracle, test, slope, focus }: Props) {
  const N = test.length;
  const scales = useMemo(() => {
    let lo = 0;
    let hi = 0;
    for (let n = 0; n < N; n++) {
      if (Number.isFinite(oracle[n]) && Number.isFinite(test[n])) {
        lo = Math.min(lo, oracle[n], test[n]);
        hi = Math.max(hi, oracle[n], test[n]);
      }
    }
    const domain = [lo, Math.max(hi, 0.1)] as [number, number];
    const x = d3
      .scaleLinear()
      .domain(domain)
      .nice()
      .range([M.left, SIZE - M.right]);
    const y = d3
      .scaleLinear()
      .domain(x.domain())
      .range([SIZE - M.bottom, M.top]);
    return { x, y };
  }, [oracle, test, N]);
  const { x, y } = scales;

  const dots = useMemo(
    () =>
      Array.from({ length: N }, (_v, n) =>
        Number.isFinite(oracle[n]) && Number.isFinite(test[n]) ? (
          <circle key={n} cx={x(oracle[n])} cy={y(test[n])} r={1.8} />
        ) : null,
      ),
    [oracle, test, N, x, y],
  );

  const delaunay = useMemo(
    () =>
      d3.Delaunay.from(
        { length: N },
        (_v, n) => x(Number.isFinite(oracle[n]) ? oracle[n] : 0),
        (_v, n) => y(Number.isFinite(test[n]) ? test[n] : 0),
      ),
    [oracle, test, N, x, y],
  );

  const [d0, d1] = x.domain();
  const ring = (n: number | null, cls: string) =>
    n === null || n >= N || !Number.isFinite(oracle[n]) || !Number.isFinite(test[n]) ? null : (
      <circle className={cls} cx={x(oracle[n])} cy={y(test[n])} r={cls === 'mark-selected' ? 5 : 4} />
    );
  // The fraction line ends where it leaves the square.
  const lineEnd = slope !== null && Number.isFinite(slope) ? (Math.abs(slope) > 1 ? d1 / Math.abs(slope) : d1) : null;

  return (
    <figure className="figure" data-testid="oracle-scatter">
      <NeuronPickSvg
        width={SIZE}
        height={SIZE}
        className="plot scatter"
        label={`Test correlation against oracle for ${N} neurons${slope !== null ? `, fraction of oracle ${slope.toFixed(3)}` : ''}`}
        // Delaunay places a neuron without a value at 0; its own non-finite position keeps it from being picked.
        delaunay={delaunay}
        at={(n) => [x(oracle[n]), y(test[n])]}
        radius={8}
        pick={focus}
      >
        <line className="diagonal" x1={x(Math.max(d0, 0))} y1={y(Math.max(d0, 0))} x2={x(d1)} y2={y(d1)} />
        <g className="scatter-dots" data-testid="scatter-points">
          {dots}
        </g>
        {lineEnd !== null && (
          <>
            <line
              className="fraction-line"
              x1={x(0)}
              y1={y(0)}
              x2={x(lineEnd)}
              y2={y(slope! * lineEnd)}
              data-testid="fraction-line"
            />
            <text className="fraction-label" x={x(0.8 * lineEnd) - 8} y={y(0.8 * slope! * lineEnd)} textAnchor="end">
              slope {slope!.toFixed(3)}
            </text>
          </>
        )}
        {ring(focus.selected, 'mark-selected')}
        {ring(focus.hovered, 'mark-hovered')}
        <PlotAxes
          x={x}
          y={y}
          width={SIZE}
          height={SIZE}
          margin={M}
          xLabel="oracle correlation"
          yLabel="test correlation"
        />
      </NeuronPickSvg>
      <figcaption className="scatter-legend">
        <span>
          <svg width="22" height="6" aria-hidden="true">
            <line className="fraction-line" x1="0" y1="3" x2="22" y2="3" />
          </svg>
          fraction of oracle: least-squares slope through the origin
        </span>
        <span>
          <svg width="22" height="6" aria-hidden="true">
            <line className="diagonal" x1="0" y1="3" x2="22" y2="3" />
          </svg>
          test correlation = oracle
        </span>
      </figcaption>
    </figure>
  );
}
