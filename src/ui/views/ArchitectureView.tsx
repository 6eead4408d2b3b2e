/** The architecture read from the checkpoint: core layers, readouts and neuron counts. */
import type { CoreLayerSpec } from '../../model/architecture';
import type { LoadedModel } from '../../state/services/model_service';
import { useStore } from '../../state/store';

function kernelOf(l: CoreLayerSpec): string {
  const k = l.kind === 'conv' ? l.convs[0].kernel : l.convs[1].kernel;
  return `${k[0]}×${k[1]}`;
}

function paddingOf(l: CoreLayerSpec): string {
  const p = l.convs.map((c) => c.padding).find((q) => q[0] || q[1]);
  return p ? (p[0] === p[1] ? String(p[0]) : `${p[0]}, ${p[1]}`) : '0';
}

export function ArchitectureView({ model }: { model: LoadedModel }) {
  const chooseReadout = useStore((s) => s.chooseReadout);
  const { architecture: arch, source } = model;
  const core = arch.core;
  const [c, h, w] = core.inputShape;
  const [fc, fh, fw] = core.outputShape;
  const readout = arch.readouts.find((r) => r.key === model.readoutKey)!;
  const pos = readout.positionNetwork;
  const notes = [...source.notes, ...arch.notes];
  return (
    <section className="panel" aria-labelledby="arch-title" data-testid="architecture">
      <h2 id="arch-title">Architecture</h2>
      <p className="muted small">
        {source.checkpointName} ({source.format === 'zip' ? 'zip format' : 'legacy format'})
        {source.configName ? ` with ${source.configName}` : ', default config'} · {model.parameters.toLocaleString('en-US')} parameters
      </p>
      <h3>Core: Stacked2dCore</h3>
      <div className="table-scroll">
      <table className="table" data-testid="core-layers">
        <thead>
          <tr><th>layer</th><th>kind</th><th>channels</th><th>kernel</th><th>padding</th><th>then</th><th>output</th></tr>
        </thead>
        <tbody>
          <tr className="muted"><td>input</td><td colSpan={5}>channels × height × width</td><td>{c}×{h}×{w}</td></tr>
          {core.layers.map((l) => (
            <tr key={l.index}>
              <td>layer{l.index}</td>
              <td>{l.kind === 'conv' ? 'conv' : 'depth-separable'}</td>
              <td>{l.inChannels} → {l.outChannels}</td>
              <td>{kernelOf(l)}</td>
              <td>{paddingOf(l)}</td>
              <td>{l.batchNorm ? <abbr title="BatchNorm (eval: running statistics)">BN</abbr> : '—'}{l.elu ? ', ELU' : ''}</td>
              <td>{l.outChannels}×{l.outHeight}×{l.outWidth}</td>
            </tr>
          ))}
          <tr className="muted"><td>readout sees</td><td colSpan={5}>layer{core.stack.length > 1 ? 's' : ''} {core.stack.join(', ')}</td><td>{fc}×{fh}×{fw}</td></tr>
        </tbody>
      </table>
      </div>
      <h3>Readout: FullGaussian2d</h3>
      <dl className="facts">
        <dt>neurons</dt><dd data-testid="arch-neurons">{model.neurons.toLocaleString('en-US')}</dd>
        <dt>readout</dt>
        <dd>
          {arch.readouts.length > 1 ? (
            <select aria-label="Readout" value={model.readoutKey} onChange={(e) => void chooseReadout(e.target.value)}>
              {arch.readouts.map((r) => <option key={r.key} value={r.key}>{r.key} ({r.neurons.toLocaleString('en-US')} neurons)</option>)}
            </select>
          ) : readout.key}
        </dd>
        <dt>features</dt><dd>{readout.channels} per neuron{readout.bias ? ', with bias' : ''}</dd>
        <dt>Σ</dt><dd>{readout.gaussType}</dd>
        <dt>positions</dt>
        <dd>
          {pos
            ? `position network ${[pos.inputDimensions, ...pos.linears.map((l) => l.outFeatures)].join(' → ')}${pos.finalTanh ? ', tanh' : ''} from cortical coordinates`
            : 'free per-neuron means'}
        </dd>
        <dt>output</dt><dd>ELU(x{arch.eluOffset ? ` + ${arch.eluOffset}` : ''}) + 1</dd>
      </dl>
      {notes.length > 0 && (
        <ul className="notes">
          {notes.map((n) => <li key={n}>{n}</li>)}
        </ul>
      )}
    </section>
  );
}
