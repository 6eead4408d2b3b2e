/**
 * The architecture read from the checkpoint: core layers (a Stacked2dCore's, or a TransferLearningCore's: the
 * torchvision network's kept convs with their ReLUs and pools), the readout shown (a FullGaussian2d or a
 * FullFactorized2d, with what each has), neuron counts, and the parameter counts of the core and every readout.
 */
import {
  type CoreArchitecture,
  type CoreLayerSpec,
  coreClassName,
  type ReadoutArchitecture,
} from '../../model/architecture';
import { readoutClassName } from '../../model/readout_types';
import { modelParamRows } from '../../state/derived/model_params';
import type { LoadedModel } from '../../state/services/model_service';
import { useStore } from '../../state/store';

function kernelOf(l: CoreLayerSpec): string {
  const k = l.kind === 'conv' ? l.convs[0].kernel : l.convs[1].kernel;
  return `${k[0]}×${k[1]}`;
}

/** What follows the layer's convolution, in order: BatchNorm, activation, pooling. */
function thenOf(l: CoreLayerSpec) {
  const after = [
    l.elu ? 'ELU' : '',
    l.relu ? 'ReLU' : '',
    l.maxPool ? `max pool ${l.maxPool.kernel}×${l.maxPool.kernel}/${l.maxPool.stride}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <>
      {l.batchNorm ? <abbr title="BatchNorm (eval: running statistics)">BN</abbr> : after ? '' : '—'}
      {l.batchNorm && after ? ', ' : ''}
      {after}
    </>
  );
}

/** A TransferLearningCore in one sentence: the network, the cut, what follows, the input repeat. */
function TransferLearningFacts({ core }: { core: CoreArchitecture }) {
  const tl = core.transferLearning;
  if (!tl) return null;
  const repeat = core.inputRepeat ?? 1;
  return (
    <p className="small" data-testid="arch-transfer-learning">
      {tl.modelName}&apos;s <code>features</code> cut after {tl.layers} children ({tl.children.join(', ')})
      {tl.finalBatchNorm ? ', then BatchNorm' : ''}
      {tl.finalNonlinearity ? ', then ReLU' : ''}
      {repeat > 1 ? `; the greyscale image is repeated to its ${repeat} input channels` : ''}.
    </p>
  );
}

function paddingOf(l: CoreLayerSpec): string {
  const p = l.convs.map((c) => c.padding).find((q) => q[0] || q[1]);
  return p ? (p[0] === p[1] ? String(p[0]) : `${p[0]}, ${p[1]}`) : '0';
}

/** What a readout has, by kind: a Gaussian's Sigma and positions, a factorized readout's mask and options. */
function ReadoutFacts({ readout }: { readout: ReadoutArchitecture }) {
  if (readout.kind === 'factorized') {
    const { height, width, options: o } = readout.factorized;
    const flags = [
      o.constrainPos && 'constrain_pos',
      o.positiveSpatial && 'positive_spatial',
      o.positiveWeights && 'positive_weights',
    ]
      .filter(Boolean)
      .join(', ');
    return (
      <>
        <dt>mask</dt>
        <dd data-testid="arch-mask">
          {width}×{height} per neuron (the core&apos;s output map)
          {o.normalize ? ', L2-normalized' : ', not normalized'}
          {flags ? `, ${flags}` : ''}
        </dd>
        <dt>regularizer</dt>
        <dd>
          {o.l1Form === 'per_neuron'
            ? 'Σₙ |maskₙ|₁ |featuresₙ|₁'
            : '(Σₙ |maskₙ|₁)(Σₙ |featuresₙ|₁), as neuralpredictors'}{' '}
          × {o.regWeight}
        </dd>
      </>
    );
  }
  const pos = readout.positionNetwork;
  return (
    <>
      <dt>Σ</dt>
      <dd>{readout.gaussType}</dd>
      <dt>positions</dt>
      <dd>
        {pos
          ? `position network ${[pos.inputDimensions, ...pos.linears.map((l) => l.outFeatures)].join(' → ')}` +
            `${pos.finalTanh ? ', tanh' : ''} from cortical coordinates`
          : 'free per-neuron means'}
      </dd>
    </>
  );
}

export function ArchitectureView({ model }: { model: LoadedModel }) {
  const chooseReadout = useStore((s) => s.chooseReadout);
  const { architecture: arch, source } = model;
  const core = arch.core;
  const [c, h, w] = core.inputShape;
  const [fc, fh, fw] = core.outputShape;
  const readout = arch.readouts.find((r) => r.key === model.readoutKey)!;
  const params = modelParamRows(arch, model.readoutKey, model.parameters);
  const notes = [...source.notes, ...arch.notes];
  return (
    <section className="panel" aria-labelledby="arch-title" data-testid="architecture">
      <h2 id="arch-title">Architecture</h2>
      <p className="muted small">
        {source.checkpointName} ({source.format === 'zip' ? 'zip format' : 'legacy format'})
        {source.configName ? ` with ${source.configName}` : ', default config'} ·{' '}
        {model.parameters.toLocaleString('en-US')} parameters
      </p>
      <h3 data-testid="arch-core-class">Core: {coreClassName(core)}</h3>
      <TransferLearningFacts core={core} />
      <div className="table-scroll">
        <table className="table" data-testid="core-layers">
          <thead>
            <tr>
              <th>layer</th>
              <th>kind</th>
              <th>channels</th>
              <th>kernel</th>
              <th>padding</th>
              <th>then</th>
              <th>output</th>
            </tr>
          </thead>
          <tbody>
            <tr className="muted">
              <td>input</td>
              <td colSpan={5}>channels × height × width</td>
              <td>
                {c}×{h}×{w}
              </td>
            </tr>
            {core.layers.map((l) => (
              <tr key={l.index}>
                <td>{l.childIndex === undefined ? `layer${l.index}` : `features.${l.childIndex}`}</td>
                <td>{l.kind === 'conv' ? 'conv' : 'depth-separable'}</td>
                <td>
                  {l.inChannels} → {l.outChannels}
                </td>
                <td>{kernelOf(l)}</td>
                <td>{paddingOf(l)}</td>
                <td>{thenOf(l)}</td>
                <td>
                  {l.outChannels}×{l.outHeight}×{l.outWidth}
                </td>
              </tr>
            ))}
            <tr className="muted">
              <td>readout sees</td>
              <td colSpan={5}>
                {core.transferLearning
                  ? 'the last layer'
                  : `layer${core.stack.length > 1 ? 's' : ''} ${core.stack.join(', ')}`}
              </td>
              <td>
                {fc}×{fh}×{fw}
              </td>
            </tr>
          </tbody>
        </table>
      </div>
      <h3 data-testid="arch-readout-kind" data-kind={readout.kind}>
        Readout: {readoutClassName(readout.kind)}
      </h3>
      <dl className="facts">
        <dt>neurons</dt>
        <dd data-testid="arch-neurons">{model.neurons.toLocaleString('en-US')}</dd>
        <dt>readout</dt>
        <dd>
          {arch.readouts.length > 1 ? (
            <select aria-label="Readout" value={model.readoutKey} onChange={(e) => void chooseReadout(e.target.value)}>
              {arch.readouts.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.key} ({r.neurons.toLocaleString('en-US')} neurons)
                </option>
              ))}
            </select>
          ) : (
            readout.key
          )}
        </dd>
        <dt>features</dt>
        <dd>
          {readout.channels} per neuron{readout.bias ? ', with bias' : ''}
        </dd>
        <ReadoutFacts readout={readout} />
        <dt>output</dt>
        <dd>ELU(x{arch.eluOffset ? ` + ${arch.eluOffset}` : ''}) + 1</dd>
      </dl>
      <h3>Parameters</h3>
      <div className="table-scroll">
        <table className="table arch-params" data-testid="arch-params">
          <thead>
            <tr>
              <th>part</th>
              <th>counted</th>
              <th>here</th>
              <th className="num">parameters</th>
            </tr>
          </thead>
          <tbody>
            {params.map((r) => {
              const part = r.id === 'core' || r.id === 'total';
              return (
                <tr
                  key={r.id}
                  data-testid={`arch-params-${part ? r.id : 'readout'}`}
                  data-readout={part ? undefined : r.id}
                  className={r.id === 'total' ? 'total' : undefined}
                >
                  <td>
                    {r.id === 'total' ? <strong>total</strong> : r.part}
                    {r.id === model.readoutKey ? ' (shown)' : ''}
                  </td>
                  <td>{r.formula && <code>{r.formula}</code>}</td>
                  <td className="muted">{r.worked}</td>
                  <td className="num" data-value={r.parameters}>
                    {r.parameters.toLocaleString('en-US')}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        n neurons, c core channels
        {readout.kind === 'factorized'
          ? ', h × w the core\u2019s output map (one mask weight per pixel); '
          : ', s the values of each neuron\u2019s Σ (full 4, uncorrelated 2, isotropic 1), 2 for a free mean; '}
        + n: one bias per neuron. The Experiments tab compares these readout designs for the loaded scan.
      </p>
      {notes.length > 0 && (
        <ul className="notes">
          {notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
