/**
 * Mean silhouette against k (2..10): how well separated the k-means clusters are for each k. The suggested k
 * (highest) is marked; clicking a k picks it.
 */
import * as d3 from 'd3';

const W = 250;
const H = 140;
const M = { top: 18, right: 12, bottom: 30, left: 40 };

export function SilhouettePlot({
  ks,
  scores,
  suggested,
  chosen,
  onPick,
}: {
  ks: number[];
  scores: number[];
  suggested: number;
  chosen: number;
  onPick(k: number): void;
}) {
  const finite = scores.filter(Number.isFinite);
  const lo = Math.min(0, ...finite);
  const hi = Math.max(0.1, ...finite);
  const x = d3
    .scaleLinear()
    .domain([ks[0], ks[ks.length - 1]])
    .range([M.left, W - M.right]);
  const y = d3
    .scaleLinear()
    .domain([lo, hi])
    .nice()
    .range([H - M.bottom, M.top]);
  const line = d3
    .line<number>()
    .defined((_v, i) => Number.isFinite(scores[i]))
    .x((_v, i) => x(ks[i]))
    .y((s) => y(s));
  return (
    <figure className="figure">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="plot silhouette-plot"
        style={{ maxWidth: W }}
        role="img"
        aria-label={`Mean silhouette for k = ${ks[0]} to ${ks[ks.length - 1]}; highest at k = ${suggested}`}
        data-testid="silhouette-plot"
        data-suggested={suggested}
      >
        <g
          className="axis"
          transform={`translate(0,${H - M.bottom})`}
          ref={(g) => {
            if (g) d3.select(g).call(d3.axisBottom(x).tickValues(ks).tickFormat(d3.format('d')));
          }}
        />
        <g
          className="axis"
          transform={`translate(${M.left},0)`}
          ref={(g) => {
            if (g) d3.select(g).call(d3.axisLeft(y).ticks(4));
          }}
        />
        <text className="axis-label" x={(M.left + W - M.right) / 2} y={H - 2} textAnchor="middle">
          k (clusters)
        </text>
        <text
          className="axis-label"
          transform={`translate(11,${(H - M.bottom + M.top) / 2}) rotate(-90)`}
          textAnchor="middle"
        >
          silhouette
        </text>
        <path d={line(scores) ?? ''} className="silhouette-line" />
        {ks.map(
          (k, i) =>
            Number.isFinite(scores[i]) && (
              <g key={k} onClick={() => onPick(k)} style={{ cursor: 'pointer' }}>
                <circle cx={x(k)} cy={y(scores[i])} r={9} fill="transparent" />
                <circle
                  cx={x(k)}
                  cy={y(scores[i])}
                  r={k === chosen ? 4.5 : 3}
                  className={`silhouette-dot${k === suggested ? ' suggested' : ''}${k === chosen ? ' chosen' : ''}`}
                >
                  <title>
                    k = {k}: mean silhouette {scores[i].toFixed(3)}
                    {k === suggested ? ' (suggested: highest)' : ''}
                  </title>
                </circle>
              </g>
            ),
        )}
        {Number.isFinite(scores[ks.indexOf(suggested)]) && (
          // Anchored so that it stays inside the plot at either end of the k axis.
          <text
            className="silhouette-label"
            x={x(suggested)}
            y={y(scores[ks.indexOf(suggested)]) - 8}
            textAnchor={suggested === ks[ks.length - 1] ? 'end' : suggested === ks[0] ? 'start' : 'middle'}
          >
            suggested
          </text>
        )}
      </svg>
    </figure>
  );
}
