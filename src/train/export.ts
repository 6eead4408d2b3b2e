/**
 * Exports of a trained readout of either kind:
 * - a zip-format `.pth` with neuralpredictors key names, the readout alone (`readout.<data_key>.*`) or with its
 *   core as a full model, in the order PyTorch's state_dict lists them (FullGaussian2d: own parameters, own
 *   buffers, then the mu_transform children; FullFactorized2d: `_features` (N, C), `spatial` (N, h, w), `bias`),
 *   which `torch.load` reads and `load_state_dict` accepts;
 * - per-neuron results as CSV and JSON: unit id, position and Sigma (Gaussian) or the mask's peak, centroid,
 *   spread and half-maximum size (factorized), and the test metrics;
 * - a metadata JSON (core checksum, config, readout type, seed, backend, app version, date).
 */
import pkg from '../../package.json';
import { type HostTensor, type StateDict, toFloat32 } from '../io/host_tensor';
import { saveCheckpoint } from '../io/torch_save';
import type { Evaluation, MetricsSummary } from '../metrics/evaluate';
import type { Encoder } from '../model/encoder';
import {
  channelMajorFeatures,
  DEFAULT_FACTORIZED_OPTIONS,
  type FactorizedOptions,
  gaussTypeOfSigmaShape,
  neuronMajorFeatures,
  sigmaShape,
  type TrainableFactorizedReadout,
  type TrainableGaussianReadout,
  type TrainableReadout,
} from '../model/readout_types';
import { coreToStateDict } from '../model/to_state_dict';
import { evalPositions, factorizedGeometry } from './readout/readout_step';

export const APP_VERSION: string = pkg.version;

function f32(shape: number[], data: Float32Array): HostTensor<'float32'> {
  return { dtype: 'float32', shape, data: Float32Array.from(data) };
}

/**
 * `readout.<dataKey>.*` in PyTorch layouts: Gaussian features (1, C, 1, N), sigma by gauss type, mu (1, N, 1, 2);
 * factorized `_features` (N, C), `spatial` (N, h, w), `bias` (N).
 */
export function readoutStateDict(r: TrainableReadout, dataKey: string): StateDict {
  if (r.kind === 'factorized') {
    const p = `readout.${dataKey}.`;
    const sd: StateDict = new Map();
    sd.set(`${p}_features`, f32([r.neurons, r.channels], r.features));
    sd.set(`${p}spatial`, f32([r.neurons, r.height, r.width], r.spatial));
    sd.set(`${p}bias`, f32([r.neurons], r.bias));
    return sd;
  }
  const p = `readout.${dataKey}.`;
  const N = r.neurons,
    C = r.channels;
  const sd: StateDict = new Map();
  if (r.mu) sd.set(`${p}_mu`, f32([1, N, 1, 2], r.mu));
  sd.set(`${p}sigma`, f32(sigmaShape(r.gaussType, N), r.sigma));
  sd.set(`${p}_features`, { dtype: 'float32', shape: [1, C, 1, N], data: channelMajorFeatures(r.features, N, C) });
  sd.set(`${p}bias`, f32([N], r.bias));
  if (r.positionNet && r.sourceGrid) {
    const d = r.positionNet.layers[0].inFeatures;
    sd.set(`${p}source_grid`, f32([N, d], r.sourceGrid));
    r.positionNet.layers.forEach((l, k) => {
      sd.set(`${p}mu_transform.${2 * k}.weight`, f32([l.outFeatures, l.inFeatures], l.weight));
      sd.set(`${p}mu_transform.${2 * k}.bias`, f32([l.outFeatures], l.bias));
    });
  }
  return sd;
}

/** The readout alone as a zip-format .pth. */
export async function exportReadoutPth(r: TrainableReadout, dataKey: string): Promise<Uint8Array> {
  return saveCheckpoint(readoutStateDict(r, dataKey));
}

/** Core (from the encoder, with its passthrough buffers) + the new readout as one state_dict. */
export async function fullModelStateDict(encoder: Encoder, r: TrainableReadout, dataKey: string): Promise<StateDict> {
  const sd: StateDict = new Map(encoder.passthrough);
  for (const [k, v] of await coreToStateDict(encoder.core)) sd.set(k, v);
  for (const [k, v] of readoutStateDict(r, dataKey)) sd.set(k, v);
  return sd;
}

export async function exportFullModelPth(encoder: Encoder, r: TrainableReadout, dataKey: string): Promise<Uint8Array> {
  return saveCheckpoint(await fullModelStateDict(encoder, r, dataKey));
}

type NeuronMetricsRow = Pick<
  MetricsSummary,
  'test_correlation' | 'correlation_to_average' | 'oracle' | 'fraction_oracle' | 'feve'
>;

/**
 * One neuron's row of a Gaussian readout: its position and Sigma, and its test metrics under the names of the
 * summary's means (fraction_oracle is this neuron's test_correlation / oracle; null where a metric is undefined).
 */
export interface GaussianNeuronRow extends NeuronMetricsRow {
  unit_id: number;
  /** Eval position (Gaussian mean, clamped), grid units: x along the feature map's width, y along its height. */
  x: number;
  y: number;
  /** The `sigma` parameter's entries: full [s_xx, s_xy, s_yx, s_yy] (row = coordinate, column = noise), else [s_x, s_y] or [s]. */
  sigma: number[];
}

/**
 * One neuron's row of a factorized readout: where its mask is and how large (model/factorized_masks.ts), and its
 * test metrics as a Gaussian row has them.
 */
export interface FactorizedNeuronRow extends NeuronMetricsRow {
  unit_id: number;
  /** The mask's peak (refined over its 3x3 neighbourhood), grid units as a Gaussian row's x, y: its position. */
  x: number;
  y: number;
  /** The centroid of the mask's squared weights, grid units. */
  centre_x: number;
  centre_y: number;
  /** Root mean square distance from the centroid under the squared weights, feature-map pixels. */
  spread: number;
  /** Pixels whose |weight| is at least half the largest. */
  half_max_pixels: number;
}

export type NeuronRow = GaussianNeuronRow | FactorizedNeuronRow;

type Ids = ArrayLike<number>;
type Ev = Evaluation | null;
export function perNeuronResults(r: TrainableGaussianReadout, unitIds: Ids, evaluation: Ev): GaussianNeuronRow[];
export function perNeuronResults(r: TrainableFactorizedReadout, unitIds: Ids, evaluation: Ev): FactorizedNeuronRow[];
export function perNeuronResults(r: TrainableReadout, unitIds: Ids, evaluation: Ev): NeuronRow[];
export function perNeuronResults(r: TrainableReadout, unitIds: Ids, evaluation: Ev): NeuronRow[] {
  const N = r.neurons;
  if (unitIds.length !== N) throw new Error(`${unitIds.length} unit ids for ${N} neurons`);
  const e = evaluation?.perNeuron;
  const num = (a: Float64Array | null | undefined, n: number): number | null => (a ? a[n] : null);
  const metrics = (n: number): NeuronMetricsRow => {
    const tc = num(e?.testCorrelation, n),
      or = num(e?.oracle, n);
    return {
      test_correlation: tc,
      correlation_to_average: num(e?.correlationToAverage, n),
      oracle: or,
      fraction_oracle: tc !== null && or !== null && or !== 0 ? tc / or : null,
      feve: num(e?.feve, n),
    };
  };
  if (r.kind === 'factorized') {
    const g = factorizedGeometry(r);
    return Array.from(
      { length: N },
      (_, n): FactorizedNeuronRow => ({
        unit_id: Number(unitIds[n]),
        x: g.peak[2 * n],
        y: g.peak[2 * n + 1],
        centre_x: g.centre[2 * n],
        centre_y: g.centre[2 * n + 1],
        spread: g.spread[n],
        half_max_pixels: g.halfMaxPixels[n],
        ...metrics(n),
      }),
    );
  }
  const pos = evalPositions(r);
  const k = r.sigma.length / N;
  const rows: GaussianNeuronRow[] = [];
  for (let n = 0; n < N; n++) {
    rows.push({
      unit_id: Number(unitIds[n]),
      x: pos[2 * n],
      y: pos[2 * n + 1],
      sigma: Array.from(r.sigma.subarray(n * k, (n + 1) * k)),
      ...metrics(n),
    });
  }
  return rows;
}

export function sigmaColumns(r: Pick<TrainableGaussianReadout, 'gaussType'>): string[] {
  return r.gaussType === 'full'
    ? ['sigma_xx', 'sigma_xy', 'sigma_yx', 'sigma_yy']
    : r.gaussType === 'uncorrelated'
      ? ['sigma_x', 'sigma_y']
      : ['sigma'];
}

const METRIC_COLUMNS = ['test_correlation', 'correlation_to_average', 'oracle', 'fraction_oracle', 'feve'] as const;

/** CSV with a header row; empty cells where a metric is undefined. Columns by the readout's kind. */
export function perNeuronCsv(
  rows: NeuronRow[],
  r: Pick<TrainableGaussianReadout, 'gaussType'> | Pick<TrainableFactorizedReadout, 'kind'>,
): string {
  const cell = (v: number | null): string => (v === null || Number.isNaN(v) ? '' : String(v));
  const metrics = (row: NeuronRow): (number | null)[] => METRIC_COLUMNS.map((c) => row[c]);
  if ('kind' in r && r.kind === 'factorized') {
    const cols = ['unit_id', 'x', 'y', 'centre_x', 'centre_y', 'spread', 'half_max_pixels', ...METRIC_COLUMNS];
    const lines = [cols.join(',')];
    for (const row of rows as FactorizedNeuronRow[]) {
      const where = [row.x, row.y, row.centre_x, row.centre_y, row.spread, row.half_max_pixels];
      lines.push([row.unit_id, ...where, ...metrics(row)].map(cell).join(','));
    }
    return lines.join('\n') + '\n';
  }
  const gaussType = (r as Pick<TrainableGaussianReadout, 'gaussType'>).gaussType;
  const cols = ['unit_id', 'x', 'y', ...sigmaColumns({ gaussType }), ...METRIC_COLUMNS];
  const lines = [cols.join(',')];
  for (const row of rows as GaussianNeuronRow[]) {
    lines.push([row.unit_id, row.x, row.y, ...row.sigma, ...metrics(row)].map(cell).join(','));
  }
  return lines.join('\n') + '\n';
}

export interface ExportMetadata {
  app: string;
  app_version: string;
  date: string;
  /** sha256 of the checkpoint file the core came from. */
  core_sha256: string;
  core_file?: string;
  data_key: string;
  scan?: string;
  config: unknown;
  /** readout_type, then Gaussian: gauss_type, neurons, channels, position_network; factorized: shape and options. */
  readout: Record<string, unknown>;
  training: unknown;
  seed: number;
  backend: string;
  cache_precision?: string;
  metrics?: unknown;
}

export function exportMetadata(
  m: Omit<ExportMetadata, 'app' | 'app_version' | 'date'> & { date?: Date },
): ExportMetadata {
  const { date, ...rest } = m;
  return { app: 'v1-explorer', app_version: APP_VERSION, date: (date ?? new Date()).toISOString(), ...rest };
}

/** Hex sha256 (Web Crypto: Node >= 19 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The inverse of `readoutStateDict` for either kind: `readout.<dataKey>.*` of any state_dict (ours or
 * neuralpredictors') as a TrainableReadout, factorized when it has a `spatial` mask. What the weights cannot tell
 * comes from `opts` (the position network's final tanh; the factorized options).
 */
export function trainableReadoutFromStateDict(
  sd: StateDict,
  dataKey: string,
  opts: { finalTanh?: boolean; factorized?: Partial<FactorizedOptions> } = {},
): TrainableReadout {
  return sd.has(`readout.${dataKey}.spatial`)
    ? factorizedReadoutFromStateDict(sd, dataKey, opts.factorized)
    : readoutFromStateDict(sd, dataKey, opts.finalTanh ?? true);
}

/**
 * A FullFactorized2d readout `readout.<dataKey>.*` (`_features` (N, C), `spatial` (N, h, w), `bias` (N) or none:
 * zeros) as a TrainableFactorizedReadout; the options (which the weights cannot tell) as given, else the defaults.
 */
export function factorizedReadoutFromStateDict(
  sd: StateDict,
  dataKey: string,
  options: Partial<FactorizedOptions> = {},
): TrainableFactorizedReadout {
  const p = `readout.${dataKey}.`;
  const get = (k: string): HostTensor => {
    const t = sd.get(p + k) ?? (k.startsWith('_') ? sd.get(p + k.slice(1)) : undefined);
    if (!t) throw new Error(`the state_dict has no '${p + k}'`);
    return t;
  };
  const s = get('spatial'),
    f = get('_features');
  if (s.shape.length !== 3) throw new Error(`${p}spatial has shape (${s.shape}), expected (N, h, w)`);
  const [N, H, W] = s.shape;
  if (f.shape.length !== 2 || f.shape[0] !== N) {
    throw new Error(`${p}_features has shape (${f.shape}), expected (${N}, C)`);
  }
  return {
    kind: 'factorized',
    neurons: N,
    channels: f.shape[1],
    height: H,
    width: W,
    spatial: Float32Array.from(toFloat32(s)),
    features: Float32Array.from(toFloat32(f)),
    bias: sd.has(p + 'bias') ? Float32Array.from(toFloat32(get('bias'))) : new Float32Array(N),
    options: { ...DEFAULT_FACTORIZED_OPTIONS, ...options },
  };
}

/**
 * The inverse of `readoutStateDict` for a FullGaussian2d readout `readout.<dataKey>.*` of any state_dict (ours or
 * neuralpredictors'). The gauss type follows sigma's shape; the position network's layers follow the
 * `mu_transform.<i>` indices (final tanh as given: the weights cannot tell).
 */
export function readoutFromStateDict(sd: StateDict, dataKey: string, finalTanh = true): TrainableGaussianReadout {
  const p = `readout.${dataKey}.`;
  const get = (k: string): HostTensor => {
    const t = sd.get(p + k) ?? (k.startsWith('_') ? sd.get(p + k.slice(1)) : undefined);
    if (!t) throw new Error(`the state_dict has no '${p + k}'`);
    return t;
  };
  const val = (k: string): Float32Array => Float32Array.from(toFloat32(get(k)));
  const f = get('_features');
  if (f.shape.length !== 4 || f.shape[0] !== 1 || f.shape[2] !== 1)
    throw new Error(`${p}_features has shape (${f.shape}), expected (1, C, 1, N)`);
  const [, C, , N] = f.shape;
  const features = neuronMajorFeatures(toFloat32(f), C, N);
  const s = get('sigma');
  const gaussType = gaussTypeOfSigmaShape(s.shape);
  if (!gaussType)
    throw new Error(`${p}sigma has shape (${s.shape}), expected (1, N, 2, 2), (1, N, 1, 2) or (1, N, 1, 1)`);
  const idx = [
    ...new Set(
      [...sd.keys()]
        .filter((k) => k.startsWith(p + 'mu_transform.'))
        .map((k) => Number(k.slice((p + 'mu_transform.').length).split('.')[0])),
    ),
  ].sort((a, b) => a - b);
  const layers = idx.map((i) => {
    const w = get(`mu_transform.${i}.weight`);
    return {
      weight: val(`mu_transform.${i}.weight`),
      bias: val(`mu_transform.${i}.bias`),
      outFeatures: w.shape[0],
      inFeatures: w.shape[1],
    };
  });
  const hasNet = layers.length > 0;
  return {
    kind: 'gaussian',
    gaussType,
    neurons: N,
    channels: C,
    features,
    bias: sd.has(p + 'bias') ? val('bias') : new Float32Array(N),
    sigma: val('sigma'),
    mu: hasNet ? null : val('_mu'),
    positionNet: hasNet ? { layers, finalTanh } : null,
    sourceGrid: hasNet ? val('source_grid') : null,
  };
}
