/**
 * Fraction oracle against training images (log scale) for the three conditions of the transfer experiment:
 * shipped points filled and joined by lines, cells run on this page hollow. Color and marker shape both tell the
 * condition (Okabe-Ito colors, readable with color-vision deficiencies).
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import type { TransferCondition } from '../../../experiments/transfer';
import { TRANSFER_CONDITIONS, type TransferPoint } from '../../../state/derived/transfer_results';

export const CONDITION_STYLE: Record<
  TransferCondition,
  { label: string; color: string; symbol: d3.SymbolType; dash: string }
> = {
  transfer: { label: 'Demo core, frozen (transfer)', color: '#0072B2', symbol: d3.symbolCircle, dash: '' },
  direct: { label: 'Direct training on this animal', color: '#D55E00', symbol: d3.symbolSquare, dash: '6 3' },
  random: { label: 'Random core, frozen', color: '#555555', symbol: d3.symbolTriangle, dash: '2 3' },
};

const W = 520,
  H = 320,
  M = { top: 12, right: 16, bottom: 46, left: 56 };

export function TransferPlot({ points, sizes }: { points: TransferPoint[]; sizes: number[] }) {
  const { x, y, xTicks, yTicks } = useMemo(() => {
    const xs = [...sizes, ...points.map((p) => p.images)];
    const lo = Math.max(1, d3.min(xs) ?? 100),
      hi = Math.max(lo * 2, d3.max(xs) ?? 1600);
    const ys = points.map((p) => p.fractionOracle).filter(Number.isFinite);
    const y0 = Math.min(0, d3.min(ys) ?? 0),
      y1 = Math.max(1, d3.max(ys) ?? 1);
    const x = d3
      .scaleLog()
      .domain([lo / 1.25, hi * 1.25])
      .range([M.left, W - M.right]);
    const y = d3
      .scaleLinear()
      .domain([y0 - 0.02, y1 + 0.02])
      .nice()
      .range([H - M.bottom, M.top]);
    const xTicks = [...new Set(xs)].sort((a, b) => a - b);
    return { x, y, xTicks, yTicks: y.ticks(6) };
  }, [points, sizes]);

  const line = d3
    .line<TransferPoint>()
    .x((p) => x(p.images))
    .y((p) => y(p.fractionOracle));
  const finite = points.filter((p) => Number.isFinite(p.fractionOracle));

  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="plot transfer-plot"
      data-testid="transfer-plot"
      role="img"
      aria-label="Fraction of the oracle correlation reached against the number of training images, per condition"
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
          fraction oracle
        </text>
      </g>
      {TRANSFER_CONDITIONS.map((c) => {
        const s = CONDITION_STYLE[c];
        const shipped = finite
          .filter((p) => p.condition === c && p.origin === 'shipped')
          .sort((a, b) => a.images - b.images);
        return shipped.length > 1 ? (
          <path
            key={`l${c}`}
            d={line(shipped) ?? ''}
            fill="none"
            stroke={s.color}
            strokeWidth={2}
            strokeDasharray={s.dash}
            data-testid={`transfer-line-${c}`}
          />
        ) : null;
      })}
      <g data-testid="transfer-points">
        {finite.map((p) => {
          const s = CONDITION_STYLE[p.condition];
          const browser = p.origin === 'browser';
          return (
            <path
              key={`${p.origin}-${p.condition}-${p.images}`}
              className="transfer-point"
              d={d3.symbol(s.symbol, browser ? 110 : 60)() ?? ''}
              transform={`translate(${x(p.images)},${y(p.fractionOracle)})`}
              fill={browser ? 'white' : s.color}
              fillOpacity={browser ? 0 : 1}
              stroke={s.color}
              strokeWidth={browser ? 2.5 : 1}
              data-condition={p.condition}
              data-images={p.images}
              data-fraction-oracle={p.fractionOracle}
              data-origin={p.origin}
            >
              <title>
                {`${s.label}, ${p.images} images${browser ? ' (run on this page)' : ' (shipped)'}: fraction oracle ${p.fractionOracle.toFixed(3)}` +
                  (p.testCorrelation !== null ? `, test correlation ${p.testCorrelation.toFixed(3)}` : '') +
                  (p.epochs !== null ? `, ${p.epochs} epochs` : '')}
              </title>
            </path>
          );
        })}
      </g>
    </svg>
  );
}

export function TransferLegend() {
  return (
    <ul className="transfer-legend small" data-testid="transfer-legend" aria-label="Legend">
      {TRANSFER_CONDITIONS.map((c) => {
        const s = CONDITION_STYLE[c];
        return (
          <li key={c}>
            <svg width={34} height={14} aria-hidden="true" className="legend-key">
              <line x1={1} x2={33} y1={7} y2={7} stroke={s.color} strokeWidth={2} strokeDasharray={s.dash} />
              <path d={d3.symbol(s.symbol, 50)() ?? ''} transform="translate(17,7)" fill={s.color} />
            </svg>{' '}
            {s.label}
          </li>
        );
      })}
      <li>
        <svg width={34} height={14} aria-hidden="true" className="legend-key">
          <circle cx={17} cy={7} r={5} fill="white" stroke="#333" strokeWidth={2} />
        </svg>{' '}
        hollow: run on this page
      </li>
    </ul>
  );
}
