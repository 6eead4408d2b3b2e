/**
 * True cell types (rows) against k-means clusters (columns): how many neurons of each type fell in each
 * cluster, shaded by the share of the type's neurons. A perfect recovery has one dark cell per row and column.
 */
import type { Contingency } from '../../../analysis/contingency';
import { categoryColor } from './palette';

export function ConfusionMatrix({ table, typeSlots }: { table: Contingency; typeSlots: Map<number, number> }) {
  const C = table.colLabels.length;
  return (
    <div className="table-scroll">
      <table className="table confusion" data-testid="cell-types-confusion">
        <caption className="small muted">neurons per true type (rows) and cluster (columns)</caption>
        <thead>
          <tr>
            <th scope="col">type \ cluster</th>
            {table.colLabels.map((c) => (
              <th key={c} scope="col">
                <span className="swatch" style={{ background: categoryColor(c) }} /> {c + 1}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rowLabels.map((t, r) => (
            <tr key={t}>
              <th scope="row">
                <span className="swatch" style={{ background: categoryColor(typeSlots.get(t) ?? -1) }} /> type {t}
              </th>
              {table.colLabels.map((c, j) => {
                const v = table.counts[r * C + j];
                const share = table.rowSums[r] ? v / table.rowSums[r] : 0;
                return (
                  <td
                    key={c}
                    title={`${v} of the ${table.rowSums[r]} neurons of type ${t} are in cluster ${c + 1}`}
                    style={{
                      background: `rgba(42, 93, 143, ${(0.85 * share).toFixed(3)})`,
                      color: share > 0.5 ? '#fff' : undefined,
                    }}
                  >
                    {v || ''}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
