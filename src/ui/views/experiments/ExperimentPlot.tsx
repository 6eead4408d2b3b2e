/**
 * An experiment's summaries (runner.ts: summarize) against training images (log scale): per condition the mean
 * over seeds (and partitions) joined by a line, its 95% t-interval as an error bar, every seed's value as a small
 * dot, and cells with a run that stopped at the epoch cap drawn hollow with a "cap" mark. Conditions are told by
 * color and marker shape (Okabe-Ito colors, readable with color-vision deficiencies). The plot redraws as cells
 * finish; a summary of one run has no interval (only its point).
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import { type CellResult, type CellSummary, summarize } from '../../../experiments/runner';
import type { ExperimentSpec } from '../../../experiments/spec';

export type PlotMetric = 'fraction_oracle' | 'test_correlation';

export const METRIC_LABEL: Record<PlotMetric, string> = {
  fraction_oracle: 'fraction oracle',
  test_correlation: 'test correlation',
};

const COLORS = ['#0072B2', '#D55E00', '#555555', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const SYMBOLS = [d3.symbolCircle, d3.symbolSquare, d3.symbolTriangle, d3.symbolDiamond, d3.symbolStar, d3.symbolWye];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2', '4 4'];

export interface ConditionStyle {
  color: string;
  symbol: d3.SymbolType;
  dash: string;
}

export function conditionStyle(i: number): ConditionStyle {
  return { color: COLORS[i % COLORS.length], symbol: SYMBOLS[i % SYMBOLS.length], dash: DASHES[i % DASHES.length] };
}

const W = 560,
  H = 340,
  M = { top: 12, right: 16, bottom: 46, left: 56 };

function value(c: CellResult, m: PlotMetric): number {
  const v = c[m];
  return typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
}

export function ExperimentPlot({
  spec,
  cells,
  metric,
}: {
  spec: ExperimentSpec;
  cells: readonly CellResult[];
  metric: PlotMetric;
}) {
  const summaries = useMemo(() => summarize(spec, cells), [spec, cells]);
  const { x, y, xTicks, yTicks } = useMemo(() => {
    const xs = spec.sizes;
    const lo = Math.max(1, d3.min(xs) ?? 100),
      hi = Math.max(lo * 2, d3.max(xs) ?? 1600);
    const ys: number[] = [];
    for (const c of cells) ys.push(value(c, metric));
    for (const s of summaries) {
      const m = s[metric];
      for (const v of [m.low, m.high]) if (v !== null) ys.push(v);
    }
    const fin = ys.filter(Number.isFinite);
    const y0 = Math.min(0, d3.min(fin) ?? 0),
      y1 = Math.max(metric === 'fraction_oracle' ? 1 : 0.5, d3.max(fin) ?? 1);
    const x = d3
      .scaleLog()
      .domain([lo / 1.3, hi * 1.3])
      .range([M.left, W - M.right]);
    const y = d3
      .scaleLinear()
      .domain([y0 - 0.02, y1 + 0.02])
      .nice()
      .range([H - M.bottom, M.top]);
    return { x, y, xTicks: xs, yTicks: y.ticks(6) };
  }, [spec, cells, summaries, metric]);

  const condIndex = new Map(spec.conditions.map((c, i) => [c.name, i]));
  // conditions side by side around each size, so that their bars do not overlap
  const nc = spec.conditions.length;
  const dodge = (name: string) => ((condIndex.get(name) ?? 0) - (nc - 1) / 2) * 5;
  const px = (size: number, name: string) => x(size) + dodge(name);
  const mean = (s: CellSummary) => s[metric].mean;

  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="plot experiment-plot"
      data-testid="experiment-plot"
      role="img"
      aria-label={`${METRIC_LABEL[metric]} against the number of training images, per condition, with 95% intervals`}
      style={{ width: '100%', maxWidth: W, height: 'auto' }}
    >
      <g className="axis">
        {yTicks.map((t) => (
          <g key={`y${t}`} transform={`translate(0,${y(t)})`}>
            <line x1={M.left} x2={W - M.right} stroke={t === 0 ? '#888' : '#e3e3e3'} />
            <text x={M.left - 6} dy="0.32em" textAnchor="end" fontSize={13}>
              {t.toFixed(1)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <g key={`x${t}`} transform={`translate(${x(t)},0)`}>
            <line y1={H - M.bottom} y2={H - M.bottom + 5} stroke="#888" />
            <text y={H - M.bottom + 18} textAnchor="middle" fontSize={13}>
              {t}
            </text>
          </g>
        ))}
        <line x1={M.left} x2={W - M.right} y1={H - M.bottom} y2={H - M.bottom} stroke="#888" />
        <text className="axis-label" x={(M.left + W - M.right) / 2} y={H - 8} textAnchor="middle" fontSize={14}>
          training images (log scale)
        </text>
        <text
          className="axis-label"
          transform={`translate(14,${(M.top + H - M.bottom) / 2}) rotate(-90)`}
          textAnchor="middle"
          fontSize={14}
        >
          {METRIC_LABEL[metric]}
        </text>
      </g>
      <g data-testid="experiment-seeds">
        {cells.map((c) => {
          const v = value(c, metric);
          if (!Number.isFinite(v) || !condIndex.has(c.condition)) return null;
          const st = conditionStyle(condIndex.get(c.condition)!);
          return (
            <circle
              key={c.key}
              cx={px(c.size, c.condition)}
              cy={y(v)}
              r={1.8}
              fill={st.color}
              fillOpacity={0.45}
              data-condition={c.condition}
            />
          );
        })}
      </g>
      {spec.conditions.map((cond, i) => {
        const st = conditionStyle(i);
        const pts = summaries.filter((s) => s.condition === cond.name && mean(s) !== null);
        if (pts.length < 2) return null;
        const line = d3
          .line<CellSummary>()
          .x((s) => px(s.size, cond.name))
          .y((s) => y(mean(s)!));
        return (
          <path
            key={`l${cond.name}`}
            d={line(pts) ?? ''}
            fill="none"
            stroke={st.color}
            strokeWidth={2}
            strokeDasharray={st.dash}
            data-testid={`experiment-line-${cond.name}`}
          />
        );
      })}
      <g data-testid="experiment-summaries">
        {summaries.map((s) => {
          const m = s[metric];
          if (m.mean === null) return null;
          const i = condIndex.get(s.condition) ?? 0;
          const st = conditionStyle(i);
          const cx = px(s.size, s.condition);
          const hasCi = m.low !== null && m.high !== null;
          return (
            <g
              key={`${s.condition}-${s.size}`}
              className="experiment-summary"
              data-condition={s.condition}
              data-size={s.size}
              data-mean={m.mean}
              data-low={m.low ?? ''}
              data-high={m.high ?? ''}
              data-runs={s.runs}
              data-capped={s.hit_cap ? s.hit_cap_runs : 0}
            >
              {hasCi && (
                <g data-testid="experiment-interval" stroke={st.color} strokeWidth={1.5}>
                  <line x1={cx} x2={cx} y1={y(m.low!)} y2={y(m.high!)} />
                  <line x1={cx - 4} x2={cx + 4} y1={y(m.low!)} y2={y(m.low!)} />
                  <line x1={cx - 4} x2={cx + 4} y1={y(m.high!)} y2={y(m.high!)} />
                </g>
              )}
              <path
                d={d3.symbol(st.symbol, 60)() ?? ''}
                transform={`translate(${cx},${y(m.mean)})`}
                fill={s.hit_cap ? 'white' : st.color}
                stroke={st.color}
                strokeWidth={s.hit_cap ? 2 : 1}
              />
              {s.hit_cap && (
                <text x={cx + 6} y={y(m.mean) - 6} fontSize={10} fill={st.color} data-testid="experiment-cap-mark">
                  cap
                </text>
              )}
              <title>
                {`${s.condition}, ${s.size} images: ${METRIC_LABEL[metric]} ${m.mean.toFixed(3)}` +
                  (hasCi
                    ? ` (95% interval ${m.low!.toFixed(3)} to ${m.high!.toFixed(3)})`
                    : ' (one run: no interval)') +
                  `, ${s.runs} run${s.runs > 1 ? 's' : ''}, mean ${s.mean_epochs.toFixed(1)} epochs` +
                  (s.hit_cap ? `; ${s.hit_cap_runs} run(s) stopped at the epoch cap` : '')}
              </title>
            </g>
          );
        })}
      </g>
    </svg>
  );
}

export function ExperimentLegend({ spec }: { spec: ExperimentSpec }) {
  return (
    <ul className="transfer-legend small" data-testid="experiment-legend" aria-label="Legend">
      {spec.conditions.map((c, i) => {
        const s = conditionStyle(i);
        return (
          <li key={c.name}>
            <svg width={34} height={14} aria-hidden="true" className="legend-key">
              <line x1={1} x2={33} y1={7} y2={7} stroke={s.color} strokeWidth={2} strokeDasharray={s.dash} />
              <path d={d3.symbol(s.symbol, 50)() ?? ''} transform="translate(17,7)" fill={s.color} />
            </svg>{' '}
            {c.name}
          </li>
        );
      })}
      <li>
        <svg width={34} height={14} aria-hidden="true" className="legend-key">
          <circle cx={17} cy={7} r={5} fill="white" stroke="#333" strokeWidth={2} />
        </svg>{' '}
        hollow, "cap": a run stopped at the epoch cap
      </li>
    </ul>
  );
}
