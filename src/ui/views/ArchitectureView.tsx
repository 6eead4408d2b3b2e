/** The architecture read from the checkpoint: core layers, readouts and neuron counts. */
import type { LoadedModel } from '../../state/model_service';

export function ArchitectureView({ model }: { model: LoadedModel }) {
  const { summary, source } = model;
  const [c, h, w] = summary.inputShape;
  const [fc, fh, fw] = summary.featureShape;
  return (
    <section className="panel" aria-labelledby="arch-title" data-testid="architecture">
      <h2 id="arch-title">Architecture</h2>
      <p className="muted">
        {source.checkpointName} ({source.format === 'zip' ? 'zip format' : 'legacy format'})
        {source.configName ? ` with ${source.configName}` : ', default config'} · {summary.parameters.toLocaleString('en-US')} parameters
      </p>
      <h3>Core</h3>
      <table className="table">
        <thead>
          <tr><th>layer</th><th>kind</th><th>channels</th><th>kernel</th><th>padding</th><th>norm</th><th>then</th></tr>
        </thead>
        <tbody>
          <tr className="muted"><td>input</td><td colSpan={6}>{c} × {h} × {w} (channels × height × width)</td></tr>
          {summary.core.map((l) => (
            <tr key={l.name}>
              <td>{l.name}</td>
              <td>{l.kind}</td>
              <td>{l.inChannels} → {l.outChannels}</td>
              <td>{l.kernel}×{l.kernel}</td>
              <td>{l.padding}</td>
              <td>{l.batchNorm ? 'BatchNorm' : '—'}</td>
              <td>{l.nonlinearity}</td>
            </tr>
          ))}
          <tr className="muted"><td>output</td><td colSpan={6}>{fc} × {fh} × {fw}</td></tr>
        </tbody>
      </table>
      <h3>Readout</h3>
      <dl className="facts">
        <dt>kind</dt><dd>FullGaussian2d, Σ {summary.gaussType}</dd>
        <dt>positions</dt><dd>{summary.positionNetwork}</dd>
        <dt>readouts</dt>
        <dd>
          {summary.readouts.map((r) => (
            <span key={r.key} className={r.key === summary.readoutKey ? 'chosen' : 'muted'}>
              {r.key} ({r.neurons.toLocaleString('en-US')} neurons){' '}
            </span>
          ))}
        </dd>
        <dt>neurons</dt><dd data-testid="arch-neurons">{summary.neurons.toLocaleString('en-US')}</dd>
      </dl>
      {source.notes.length > 0 && (
        <ul className="notes">
          {source.notes.map((n) => <li key={n}>{n}</li>)}
        </ul>
      )}
    </section>
  );
}
