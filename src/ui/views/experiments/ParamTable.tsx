/**
 * The readout parameter-count table (issue 6) for the loaded model and scan, with the loaded checkpoint's own
 * readout (Gaussian or factorized) and its actual count as the last row.
 */
import type { ReadoutArchitecture } from '../../../model/architecture';
import { readoutClassName } from '../../../model/readout_types';
import { type ParamCountInput, readoutParameterCounts } from '../../../state/derived/transfer_params';

export function ParamTable({
  input,
  neuronsFrom,
  loaded,
}: {
  input: ParamCountInput;
  neuronsFrom: string;
  /** The checkpoint's readout shown in the views: its count as read from the weights. */
  loaded?: ReadoutArchitecture | null;
}) {
  const rows = readoutParameterCounts(input);
  const { neurons: n, channels: c, width: w, height: h } = input;
  return (
    <div data-testid="param-table-box">
      <h3>How many numbers does a readout need?</h3>
      <p className="small muted">
        n = {n.toLocaleString('en-US')} neurons ({neuronsFrom}), c = {c} core channels, feature map w × h = {w} × {h}.
      </p>
      <table className="param-table small" data-testid="param-table">
        <thead>
          <tr>
            <th scope="col">Readout</th>
            <th scope="col">Parameters</th>
            <th scope="col" className="num">
              Count here
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.id} data-testid={`params-${r.id}`} title={r.explanation}>
              <th scope="row">{r.readout}</th>
              <td>
                <code>{r.formula}</code>{' '}
                <sup className="info" title={r.explanation}>
                  {i + 1}
                </sup>
              </td>
              <td className="num" data-value={r.parameters ?? ''}>
                {r.parameters === null ? 'no position network' : r.parameters.toLocaleString('en-US')}
              </td>
            </tr>
          ))}
          {loaded && (
            <tr data-testid="params-loaded" title="the loaded checkpoint's readout, counted from its weights">
              <th scope="row">This checkpoint&apos;s readout</th>
              <td>
                {readoutClassName(loaded.kind)} &apos;{loaded.key}&apos;, n = {loaded.neurons.toLocaleString('en-US')}
              </td>
              <td className="num" data-value={loaded.parameters}>
                {loaded.parameters.toLocaleString('en-US')}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <ol className="param-notes small muted">
        {rows.map((r) => (
          <li key={r.id}>
            <b>{r.readout}</b>: {r.explanation}.
          </li>
        ))}
      </ol>
    </div>
  );
}
