/**
 * The model's predicted response of every neuron to one image: a dot per neuron (x: neuron index,
 * y: predicted response), linked to the neuron selection (hover to inspect, click to select).
 */
import * as d3 from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import type { Prediction } from '../../state/services/model_service';
import { useStore } from '../../state/store';
import { NeuronPickSvg } from '../components/NeuronPickSvg';

const WIDTH = 560;
const HEIGHT = 240;
const M = { top: 10, right: 12, bottom: 34, left: 46 };

export function ResponsesView({ prediction, image }: { prediction: Prediction; image: number }) {
  const svgRef = useRef<SVGSVGElement>(null);
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const [, n] = prediction.shape;
  const row = useMemo(() => prediction.data.subarray(image * n, (image + 1) * n), [prediction, image, n]);

  const scales = useMemo(() => {
    const x = d3
      .scaleLinear()
      .domain([0, Math.max(1, n - 1)])
      .range([M.left, WIDTH - M.right]);
    const y = d3
      .scaleLinear()
      .domain([0, d3.max(row) ?? 1])
      .nice()
      .range([HEIGHT - M.bottom, M.top]);
    return { x, y };
  }, [row, n]);

  const delaunay = useMemo(
    () =>
      d3.Delaunay.from(
        row,
        (_v, i) => scales.x(i),
        (v) => scales.y(v),
      ),
    [row, scales],
  );

  // Points and axes are drawn with d3 once per image; highlights are cheap React elements on top.
  useEffect(() => {
    const svg = d3.select(svgRef.current);
    if (svgRef.current === null) return;
    const { x, y } = scales;
    svg.select<SVGGElement>('g.x-axis').call(d3.axisBottom(x).ticks(6).tickFormat(d3.format('d')));
    svg.select<SVGGElement>('g.y-axis').call(d3.axisLeft(y).ticks(5));
    const points = Array.from(row, (v, i) => [x(i), y(v)] as const);
    const path = points.map(([px, py]) => `M${px.toFixed(1)},${py.toFixed(1)}h0`).join('');
    svg.select('path.dots').attr('d', path);
  }, [row, scales]);

  const mark = (i: number | null, cls: string) =>
    i === null || i >= n ? null : (
      <circle className={cls} cx={scales.x(i)} cy={scales.y(row[i])} r={cls === 'mark-selected' ? 6 : 4.5} />
    );

  const argmax = d3.maxIndex(row);
  const focus = hovered ?? selected;
  return (
    <figure className="figure" data-testid="responses-plot">
      <NeuronPickSvg
        svgRef={svgRef}
        width={WIDTH}
        height={HEIGHT}
        className="plot"
        label={`Predicted responses of ${n} neurons`}
        delaunay={delaunay}
        at={(i) => [scales.x(i), scales.y(row[i])]}
        radius={20}
      >
        <g className="x-axis axis" transform={`translate(0,${HEIGHT - M.bottom})`} />
        <g className="y-axis axis" transform={`translate(${M.left},0)`} />
        <text className="axis-label" x={(M.left + WIDTH - M.right) / 2} y={HEIGHT - 4} textAnchor="middle">
          neuron
        </text>
        <text
          className="axis-label"
          transform={`translate(12,${(HEIGHT - M.bottom + M.top) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          predicted response
        </text>
        <path className="dots" />
        {mark(selected, 'mark-selected')}
        {mark(hovered, 'mark-hovered')}
      </NeuronPickSvg>
      <figcaption className="muted">
        {focus !== null && focus < n ? (
          <>
            neuron {focus}: <strong>{row[focus].toFixed(3)}</strong>
          </>
        ) : (
          <>
            mean {d3.mean(row)?.toFixed(3)}, strongest neuron {argmax} ({row[argmax].toFixed(3)})
          </>
        )}
        {' · '}
        {prediction.backend}, {prediction.milliseconds.toFixed(0)} ms for {prediction.shape[0]} images
        {prediction.where === 'this page' ? '' : ` (${prediction.where})`}
      </figcaption>
    </figure>
  );
}
