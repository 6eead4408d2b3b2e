/**
 * The loaded checkpoint's parameter counts as the Architecture view tabulates them: the core, each readout by kind
 * (FullGaussian2d or FullFactorized2d) with the formula its count follows and that formula with this model's
 * numbers, and the total. The readouts' counts are the architecture's (model/architecture.ts, from the weights'
 * shapes); the core's is the rest of the checkpoint's learned numbers (buffers excluded, as in `parameters`).
 */
import { coreClassName, type ModelArchitecture, type ReadoutArchitecture } from '../../model/architecture';
import { readoutClassName, sigmaSize } from '../../model/readout_types';

export interface ParamRow {
  /** 'core', a readout's data key, or 'total'. */
  id: string;
  part: string;
  /** What is counted, in symbols (n neurons, c channels, h x w the feature map, s Sigma's values). */
  formula: string;
  /** The formula with this model's numbers. */
  worked: string;
  parameters: number;
}

const int = (v: number): string => v.toLocaleString('en-US');

/** A readout's count as a formula, by kind; the architecture's count is the number. */
export function readoutParamRow(r: ReadoutArchitecture): ParamRow {
  const n = r.neurons,
    c = r.channels;
  const bias = r.bias ? ' + n' : '';
  const biasN = r.bias ? ` + ${int(n)}` : '';
  if (r.kind === 'factorized') {
    const { height: h, width: w } = r.factorized;
    return {
      id: r.key,
      part: `readout '${r.key}': ${readoutClassName(r.kind)}`,
      formula: `n·(c + h·w)${bias}`,
      worked: `${int(n)}·(${c} + ${h}·${w})${biasN}`,
      parameters: r.parameters,
    };
  }
  const s = sigmaSize(r.gaussType);
  const net = r.positionNetwork;
  if (net) {
    const p = net.linears.reduce((a, l) => a + l.outFeatures * (l.inFeatures + 1), 0);
    return {
      id: r.key,
      part: `readout '${r.key}': ${readoutClassName(r.kind)}`,
      formula: `n·(c + s)${bias} + position network`,
      worked: `${int(n)}·(${c} + ${s})${biasN} + ${int(p)}`,
      parameters: r.parameters,
    };
  }
  return {
    id: r.key,
    part: `readout '${r.key}': ${readoutClassName(r.kind)}`,
    formula: `n·(c + s + 2)${bias}`,
    worked: `${int(n)}·(${c} + ${s} + 2)${biasN}`,
    parameters: r.parameters,
  };
}

/** Core, every readout (the shown one first), total; `total` is the checkpoint's count of learned numbers. */
export function modelParamRows(arch: ModelArchitecture, shownReadout: string, total: number): ParamRow[] {
  const readouts = [...arch.readouts].sort((a, b) => Number(b.key === shownReadout) - Number(a.key === shownReadout));
  const inReadouts = arch.readouts.reduce((a, r) => a + r.parameters, 0);
  const core = arch.core;
  return [
    {
      id: 'core',
      part: `core: ${coreClassName(core)}`,
      formula: '',
      worked: `${core.layers.length} layers, ${core.outputChannels} channels out`,
      parameters: total - inReadouts,
    },
    ...readouts.map(readoutParamRow),
    { id: 'total', part: 'total', formula: '', worked: '', parameters: total },
  ];
}
