/** Reading and checking meta/trials, meta/neurons and meta/statistics of a FileTree scan. */
import { type HostArray, type HostTensor, InputError, shapeString, toFloat32 } from '../host_tensor';
import type { ScanLayout } from './layout';
import type { NeuronLabels, Statistics } from './types';

/** Reads and parses one .npy of the scan; errors name the file as '<scan>/<path>'. */
export interface NpyReader {
  read(rel: string): Promise<HostArray>;
  where(rel: string): string;
}

export function numeric(a: HostArray, file: string, what: string): HostTensor {
  if (a.dtype === 'string') throw new InputError(file, `wrong dtype: ${what} must be numeric, found strings`);
  return a;
}

export function strings(a: HostArray, file: string, what: string): string[] {
  if (a.dtype !== 'string')
    throw new InputError(file, `wrong dtype: ${what} must be strings (NumPy '<U' or '|S'), found ${a.dtype}`);
  return a.data;
}

export function toFloat64(t: HostTensor): Float64Array {
  if (t.dtype === 'float64') return t.data as Float64Array;
  if (t.dtype === 'int64' || t.dtype === 'uint64') return Float64Array.from(t.data as BigInt64Array, (v) => Number(v));
  if (t.dtype === 'float16') return Float64Array.from(toFloat32(t));
  return Float64Array.from(t.data as ArrayLike<number>);
}

function oneD(a: HostArray, file: string, what: string): void {
  if (a.shape.length !== 1) throw new InputError(file, `wrong shape ${shapeString(a.shape)}: ${what} must be 1-D`);
}

export interface TrialMeta {
  n: number;
  /** The file n came from ('meta/trials/tiers.npy'). */
  countSource: string;
  tiers: string[];
  frameImageId: Float64Array;
  frameImageIdSource: string;
  frameImageClass?: string[];
  trialIdx?: Float64Array;
  warnings: string[];
}

/** The Sensorium loader's order of preference for the image id (and the class beside it). */
const IMAGE_ID_KEYS: [string, string][] = [
  ['image_id', 'image_class'],
  ['colorframeprojector_image_id', 'colorframeprojector_image_class'],
  ['frame_image_id', 'frame_image_class'],
];

export async function readTrialMeta(r: NpyReader, layout: ScanLayout): Promise<TrialMeta> {
  const warnings: string[] = [];
  const tiersPath = layout.trials.get('tiers');
  const idKeys = IMAGE_ID_KEYS.find(([id]) => layout.trials.has(id));
  const missing = [
    !tiersPath && 'meta/trials/tiers.npy',
    !idKeys && 'meta/trials/frame_image_id.npy (or image_id.npy)',
  ].filter(Boolean);
  if (missing.length)
    throw new InputError(
      r.where(missing[0] as string),
      `missing required file${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
    );

  const tiersArr = await r.read(tiersPath!);
  const tiers = strings(tiersArr, r.where(tiersPath!), 'tiers');
  oneD(tiersArr, r.where(tiersPath!), 'tiers');
  const n = tiers.length;
  const countSource = tiersPath!;

  const arrays = new Map<string, HostArray>();
  for (const [name, path] of layout.trials) {
    if (name === 'tiers') continue;
    const required = idKeys && (name === idKeys[0] || name === idKeys[1] || name === 'trial_idx');
    let a: HostArray;
    try {
      a = await r.read(path);
    } catch (e) {
      // Other trial tables are not used; one we cannot parse (e.g. an object array) must not block loading.
      if (required || !(e instanceof InputError)) throw e;
      warnings.push(`skipped ${path}: ${e.problem}`);
      continue;
    }
    if (a.shape.length === 0 || a.shape[0] !== n) {
      throw new InputError(
        r.where(path),
        `trial counts disagree: ${path} has ${a.shape.length ? a.shape[0] : 'no'} entries (shape ${shapeString(a.shape)}), ${countSource} has ${n}`,
      );
    }
    arrays.set(name, a);
  }
  const idPath = layout.trials.get(idKeys![0])!;
  const idArr = arrays.get(idKeys![0])!;
  oneD(idArr, r.where(idPath), idKeys![0]);
  const frameImageId = toFloat64(numeric(idArr, r.where(idPath), idKeys![0]));
  const cls = arrays.get(idKeys![1]);
  const idx = arrays.get('trial_idx');
  return {
    n,
    countSource,
    tiers,
    frameImageId,
    frameImageIdSource: idKeys![0],
    warnings,
    frameImageClass: cls && cls.dtype === 'string' ? cls.data : undefined,
    trialIdx: idx ? toFloat64(numeric(idx, r.where(layout.trials.get('trial_idx')!), 'trial_idx')) : undefined,
  };
}

export interface NeuronMeta extends NeuronLabels {
  nAll: number;
  /** N x 3, row-major. */
  cellMotorCoordinates?: Float32Array;
  warnings: string[];
}

export async function readNeuronMeta(r: NpyReader, layout: ScanLayout): Promise<NeuronMeta> {
  const unitPath = layout.neurons.get('unit_ids');
  if (!unitPath)
    throw new InputError(r.where('meta/neurons/unit_ids.npy'), 'missing required file (one id per neuron)');
  const unitArr = await r.read(unitPath);
  oneD(unitArr, r.where(unitPath), 'unit_ids');
  const unitIds = Array.from(toFloat64(numeric(unitArr, r.where(unitPath), 'unit_ids')));
  const n = unitIds.length;
  const warnings: string[] = [];
  const optional = async (name: string): Promise<HostArray | undefined> => {
    const path = layout.neurons.get(name);
    if (!path) return undefined;
    const a = await r.read(path);
    if (a.shape.length === 0 || a.shape[0] !== n) {
      throw new InputError(
        r.where(path),
        `neuron counts disagree: ${a.shape.length ? a.shape[0] : 'no'} entries (shape ${shapeString(a.shape)}), meta/neurons/unit_ids.npy has ${n}`,
      );
    }
    return a;
  };
  const ints = async (name: string) => {
    const a = await optional(name);
    return a && Array.from(toFloat64(numeric(a, r.where(layout.neurons.get(name)!), name)));
  };
  const strs = async (name: string) => {
    const a = await optional(name);
    return a && (a.dtype === 'string' ? a.data : Array.from(toFloat64(a), String));
  };
  // one id per neuron (1-D: a (N, k) array would pass the count check and be read as N*k ids)
  const matchIds = async (): Promise<number[] | undefined> => {
    const a = await optional('multi_match_id');
    if (!a) return undefined;
    const file = r.where(layout.neurons.get('multi_match_id')!);
    oneD(a, file, 'multi_match_id');
    return Array.from(toFloat64(numeric(a, file, 'multi_match_id')));
  };
  const out: NeuronMeta = {
    nAll: n,
    unitIds,
    warnings,
    animalIds: await ints('animal_ids'),
    sessions: await ints('sessions'),
    scanIdx: await ints('scan_idx'),
    area: await strs('area'),
    layer: await strs('layer'),
    cellTypes: readCellTypes(r, layout, await optional('cell_types')),
    multiMatchId: await matchIds(),
  };
  const cmc = await optional('cell_motor_coordinates');
  if (cmc) {
    const file = r.where(layout.neurons.get('cell_motor_coordinates')!);
    if (cmc.shape.length !== 2 || cmc.shape[1] !== 3)
      throw new InputError(file, `wrong shape ${shapeString(cmc.shape)}: expected (${n}, 3) (x, y, z per neuron)`);
    out.cellMotorCoordinates = toFloat32(numeric(cmc, file, 'cell_motor_coordinates'));
  } else {
    warnings.push(
      'no meta/neurons/cell_motor_coordinates.npy: a readout position network (which maps cortical coordinates to positions) cannot be used with this scan',
    );
  }
  return out;
}

/**
 * meta/neurons/cell_types.npy (optional): one ground-truth cell-type label per neuron, integers >= 0 (0..K-1 as
 * simulated cell-type populations write them, int64). Any integer dtype is read, and floats holding whole numbers;
 * anything else is an error naming the file.
 */
function readCellTypes(r: NpyReader, layout: ScanLayout, a: HostArray | undefined): number[] | undefined {
  if (!a) return undefined;
  const file = r.where(layout.neurons.get('cell_types')!);
  oneD(a, file, 'cell_types');
  const t = numeric(a, file, 'cell_types (one integer label per neuron)');
  if (t.dtype === 'bool')
    throw new InputError(file, 'wrong dtype: cell_types must be integer labels 0..K-1, found bool');
  const values = Array.from(toFloat64(t));
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
  if (bad >= 0) {
    throw new InputError(
      file,
      `cell_types must be integer labels >= 0 (0..K-1), found ${values[bad]} for neuron ${bad}`,
    );
  }
  return values;
}

const STATS = ['mean', 'std', 'min', 'max', 'median'] as const;

/**
 * meta/statistics/<group>/<source>/{mean,std,min,max,median}.npy; mean and std are required when `required`.
 * `length` checks per-column statistics (neurons, behavior columns); undefined accepts any size.
 */
export async function readStatistics(
  r: NpyReader,
  layout: ScanLayout,
  group: string,
  source: string,
  required: boolean,
  length?: number,
): Promise<Statistics | undefined> {
  const path = (s: string) => `meta/statistics/${group}/${source}/${s}.npy`;
  const absent = (['mean', 'std'] as const).filter((s) => !layout.all.has(path(s)));
  if (absent.length) {
    if (!required) return undefined;
    throw new InputError(
      r.where(path(absent[0])),
      `missing required file${absent.length > 1 ? 's' : ''}: ${absent.map(path).join(', ')} (NeuroNormalizer needs the ${group} ${absent.join(' and ')} of stats_source '${source}')`,
    );
  }
  const out: Partial<Statistics> = {};
  for (const s of STATS) {
    if (!layout.all.has(path(s))) continue;
    const file = r.where(path(s));
    const t = numeric(await r.read(path(s)), file, `${group} ${s}`);
    if (length !== undefined && t.data.length !== length) {
      throw new InputError(
        file,
        `wrong shape ${shapeString(t.shape)}: expected ${length} values (${group === 'responses' ? 'one per neuron in meta/neurons/unit_ids.npy' : `one per column of data/${group}`})`,
      );
    }
    out[s] = toFloat32(t);
  }
  return out as Statistics;
}
