/**
 * Live training curves: loss (left axis) and validation correlation (right axis) per epoch; learning-rate
 * decays as dashed verticals, epochs that improved the best validation correlation as filled dots, restores of
 * the best state as triangles. Fixed size, so the page does not jump while training.
 */
import * as d3 from 'd3';
import type { EpochProgress, RestoreEvent } from '../../train/readout/trainer';

const W = 560;
const H = 220;
const M = { top: 12, right: 48, bottom: 30, left: 52 };

export function TrainingCurves({
  history,
  restores,
  maxEpochs,
}: {
  history: EpochProgress[];
  restores: RestoreEvent[];
  maxEpochs: number;
}) {
  const lastEpoch = history.at(-1)?.epoch ?? 0;
  const xMax = Math.max(5, Math.min(maxEpochs, lastEpoch + 3));
  const x = d3
    .scaleLinear()
    .domain([0, xMax])
    .range([M.left, W - M.right]);
  const trained = history.filter((h) => Number.isFinite(h.loss));
  const lossExtent = d3.extent(trained, (h) => h.loss) as [number, number] | [undefined, undefined];
  const yLoss = d3
    .scaleLinear()
    .domain(lossExtent[0] === undefined ? [0, 1] : [lossExtent[0], lossExtent[1]])
    .nice()
    .range([H - M.bottom, M.top]);
  const corrMax = d3.max(history, (h) => h.valCorrelation) ?? 0.5;
  const yCorr = d3
    .scaleLinear()
    .domain([Math.min(0, d3.min(history, (h) => h.valCorrelation) ?? 0), Math.max(0.1, corrMax)])
    .nice()
    .range([H - M.bottom, M.top]);
  const lossPath =
    d3
      .line<EpochProgress>()
      .x((h) => x(h.epoch))
      .y((h) => yLoss(h.loss))(trained) ?? '';
  const corrPath =
    d3
      .line<EpochProgress>()
      .x((h) => x(h.epoch))
      .y((h) => yCorr(h.valCorrelation))(history) ?? '';

  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      className="plot"
      role="img"
      data-testid="training-curves"
      aria-label={`Training curves over ${history.length} epochs`}
    >
      <g
        className="axis"
        transform={`translate(0,${H - M.bottom})`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisBottom(x).ticks(Math.min(8, xMax)).tickFormat(d3.format('d')));
        }}
      />
      <g
        className="axis axis-loss"
        transform={`translate(${M.left},0)`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisLeft(yLoss).ticks(5, '~s'));
        }}
      />
      <g
        className="axis axis-corr"
        transform={`translate(${W - M.right},0)`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisRight(yCorr).ticks(5));
        }}
      />
      <text className="axis-label" x={(M.left + W - M.right) / 2} y={H - 2} textAnchor="middle">
        epoch
      </text>
      <text
        className="axis-label curve-loss-label"
        transform={`translate(12,${(H - M.bottom + M.top) / 2}) rotate(-90)`}
        textAnchor="middle"
      >
        training loss
      </text>
      <text
        className="axis-label curve-corr-label"
        transform={`translate(${W - 6},${(H - M.bottom + M.top) / 2}) rotate(90)`}
        textAnchor="middle"
      >
        validation correlation
      </text>
      {history
        .filter((h) => h.lrDecayed)
        .map((h) => (
          <g key={`lr${h.epoch}`}>
            <line className="lr-step" x1={x(h.epoch + 0.5)} x2={x(h.epoch + 0.5)} y1={M.top} y2={H - M.bottom} />
            <text className="lr-label" x={x(h.epoch + 0.5) + 3} y={M.top + 9}>
              lr {h.nextLr.toPrecision(2)}
            </text>
          </g>
        ))}
      <path className="curve-loss" d={lossPath} />
      <path className="curve-corr" d={corrPath} />
      {history.map((h) => (
        <circle
          key={h.epoch}
          className={h.improved ? 'corr-dot improved' : 'corr-dot'}
          cx={x(h.epoch)}
          cy={yCorr(h.valCorrelation)}
          r={h.improved ? 3 : 2.2}
        />
      ))}
      {restores.map((r, i) => (
        <path
          key={`r${i}`}
          className="restore-mark"
          d={d3.symbol(d3.symbolTriangle, 40)() ?? ''}
          transform={`translate(${x(r.epoch)},${yCorr(r.bestValCorrelation) - 9}) rotate(180)`}
        />
      ))}
    </svg>
  );
}
