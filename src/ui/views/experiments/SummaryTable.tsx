/**
 * The plot's numbers as a table: per condition (rows) and training-set size (columns) the mean over seeds with
 * its 95% t-interval and the number of runs, cells with a run at the epoch cap marked. Readable without the plot.
 */
import { useMemo } from 'react';
import { type CellResult, summarize } from '../../../experiments/runner';
import type { ExperimentSpec } from '../../../experiments/spec';
import { conditionStyle, type PlotMetric } from './ExperimentPlot';

export function SummaryTable({
  spec,
  cells,
  metric,
}: {
  spec: ExperimentSpec;
  cells: readonly CellResult[];
  metric: PlotMetric;
}) {
  const summaries = useMemo(() => summarize(spec, cells), [spec, cells]);
  return (
    <table className="transfer-runs small experiment-table" data-testid="experiment-table">
      <thead>
        <tr>
          <th scope="col">Condition</th>
          {spec.sizes.map((n) => (
            <th key={n} scope="col">
              {n} images
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {spec.conditions.map((cond, i) => (
          <tr key={cond.name}>
            <th scope="row">
              <span className="swatch" style={{ background: conditionStyle(i).color }} /> {cond.name}
            </th>
            {spec.sizes.map((n) => {
              const s = summaries.find((x) => x.condition === cond.name && x.size === n);
              const m = s?.[metric];
              return (
                <td key={n} className="num" data-condition={cond.name} data-size={n}>
                  {s && m && m.mean !== null ? (
                    <>
                      {m.mean.toFixed(3)}
                      {m.low !== null && m.high !== null && (
                        <span className="muted">
                          {' '}
                          [{m.low.toFixed(3)}, {m.high.toFixed(3)}]
                        </span>
                      )}{' '}
                      <span className="muted">n={s.runs}</span>
                      {s.hit_cap && (
                        <span className="experiment-cap" title={`${s.hit_cap_runs} run(s) stopped at the epoch cap`}>
                          {' '}
                          cap {s.hit_cap_runs}/{s.runs}
                        </span>
                      )}
                    </>
                  ) : (
                    <span className="muted">–</span>
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
