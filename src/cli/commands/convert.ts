/**
 * v1x convert: plain arrays (.npy, or members of an .npz) -> a FileTree scan zip that neuralpredictors'
 * FileTreeDataset and every loader here read. The mapping is given by the flags (the page proposes one from the
 * shapes instead); src/io/arrays builds and checks the scan, src/io/scan/file_tree_writer.ts writes it. An array is
 * `file.npy`, `file.npz:name` (a member of an .npz) or `file.npz` when the archive holds one array.
 */
import { existsSync, openAsBlob, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  type ArrayMapping,
  type ArrayRole,
  arraysToScanData,
  DEFAULT_SPLIT,
  type NamedArray,
  readNpz,
  type SplitOptions,
} from '../../io/arrays';
import { InputError } from '../../io/host_tensor';
import { MAX_NPY_BYTES, parseNpy } from '../../io/npy';
import { writeStoredScanZip } from '../../io/scan/file_tree_writer';
import { sensoriumDataKey } from '../../io/scan/load_scan';
import { tierCounts } from '../../io/scan/tiers';
import { parseArgs, UsageError } from '../args';

export const summary =
  'plain arrays to a FileTree scan zip: --images X.npy --responses Y.npy [--test-images TX.npy --test-repeats TY.npy] ' +
  '[--tiers T.npy] [--image-ids I.npy] [--coordinates C.npy] [--unit-ids U.npy] [--validation-fraction 0.1 --seed 0] ' +
  '[--name NAME] [--ids ANIMAL-SESSION-SCAN] --out scan.zip (an .npz member: file.npz:name)';

/** Flag -> mapping role. */
const FLAGS: Array<[string, ArrayRole]> = [
  ['images', 'images'],
  ['responses', 'responses'],
  ['tiers', 'tiers'],
  ['image-ids', 'frameImageId'],
  ['test-images', 'testImages'],
  ['test-repeats', 'testRepeats'],
  ['coordinates', 'coordinates'],
  ['unit-ids', 'unitIds'],
];

/** Reads the files the specs name (each once) and returns the array name each spec resolves to. */
async function readSpecs(
  specs: Map<ArrayRole, string>,
): Promise<{ arrays: NamedArray[]; names: Map<ArrayRole, string> }> {
  const cache = new Map<string, NamedArray[]>();
  const load = async (path: string): Promise<NamedArray[]> => {
    let got = cache.get(path);
    if (got) return got;
    if (!existsSync(path)) throw new InputError(path, 'file not found');
    if (/\.npz$/i.test(path)) got = await readNpz({ name: path, data: await openAsBlob(path) });
    else {
      const size = statSync(path).size;
      if (size > MAX_NPY_BYTES + (1 << 20))
        throw new InputError(path, `is ${size} bytes; arrays over 2 GiB are refused`);
      got = [{ name: path, array: parseNpy(readFileSync(path), path) }];
    }
    cache.set(path, got);
    return got;
  };
  const names = new Map<ArrayRole, string>();
  for (const [role, spec] of specs) {
    const m = /^(.*\.npz):([^/]+)$/i.exec(spec);
    const path = m ? m[1] : spec;
    if (!/\.(npy|npz)$/i.test(path)) throw new UsageError(`${spec}: expected a .npy file, an .npz, or file.npz:name`);
    const got = await load(path);
    if (m) {
      const hit = got.find((a) => a.name === `${path}/${m[2]}`);
      if (!hit)
        throw new InputError(
          path,
          `holds no array '${m[2]}' (it holds ${got.map((a) => a.name.slice(path.length + 1)).join(', ')})`,
        );
      names.set(role, hit.name);
    } else if (got.length === 1) names.set(role, got[0].name);
    else
      throw new UsageError(
        `${path} holds ${got.length} arrays (${got.map((a) => a.name.slice(path.length + 1)).join(', ')}); name one as ${path}:NAME`,
      );
  }
  return { arrays: [...cache.values()].flat(), names };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(
    argv,
    [...FLAGS.map(([f]) => f), 'validation-fraction', 'seed', 'name', 'ids', 'out'],
    ['force'],
  );
  const out = args.require('out');
  if (!/\.zip$/i.test(out)) throw new UsageError(`--out must name a .zip file, got '${out}'`);
  if (existsSync(out) && !args.has('force')) throw new UsageError(`${out} exists; remove it or pass --force`);
  const name = args.get('name') ?? basename(out).replace(/\.zip$/i, '');
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new UsageError(
      `the scan name '${name}' must be a plain folder name (letters, digits, . _ -); choose one with --name`,
    );
  const specs = new Map<ArrayRole, string>();
  for (const [flag, role] of FLAGS) {
    const v = args.get(flag);
    if (v !== undefined) specs.set(role, v);
  }
  args.require('images');
  args.require('responses');
  const splitGiven = args.has('validation-fraction') || args.has('seed');
  if (splitGiven && args.has('tiers'))
    throw new UsageError(
      '--validation-fraction/--seed split the trials when there are no --tiers; give one or the other',
    );
  const split: SplitOptions = {
    validationFraction: args.number('validation-fraction', DEFAULT_SPLIT.validationFraction),
    seed: args.number('seed', DEFAULT_SPLIT.seed),
  };
  if (!(split.validationFraction >= 0 && split.validationFraction < 1))
    throw new UsageError(`--validation-fraction must be in [0, 1), got ${split.validationFraction}`);
  if (!Number.isInteger(split.seed)) throw new UsageError(`--seed must be an integer, got ${split.seed}`);

  let ids: { animalId: number; session: number; scanIdx: number } | undefined;
  const idText = args.get('ids');
  if (idText !== undefined) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(idText);
    if (!m || Number(m[1]) === 0)
      throw new UsageError(
        `--ids must be ANIMAL-SESSION-SCAN, whole numbers, the animal id not 0 (e.g. 26872-17-20), got '${idText}'`,
      );
    ids = { animalId: Number(m[1]), session: Number(m[2]), scanIdx: Number(m[3]) };
  }
  const { arrays, names } = await readSpecs(specs);
  const mapping = Object.fromEntries(names) as unknown as ArrayMapping;
  const { data, notes } = arraysToScanData(arrays, mapping, { name, split, ids });
  for (const n of notes) process.stderr.write(`v1x: ${n}\n`);
  const zip = writeStoredScanZip(data);
  writeFileSync(out, zip);
  process.stderr.write(`v1x: wrote ${out} (${(zip.length / 2 ** 20).toFixed(1)} MB)\n`);
  process.stdout.write(
    `${JSON.stringify({
      out,
      name,
      trials: data.tiers.length,
      neurons: data.neurons,
      data_key: sensoriumDataKey(name, {
        animalIds: ids && [ids.animalId],
        sessions: ids && [ids.session],
        scanIdx: ids && [ids.scanIdx],
      }),
      image_shape: data.imageShape,
      images_dtype: data.images instanceof Uint8Array ? 'uint8' : 'float32',
      tiers: Object.fromEntries(tierCounts(data)),
      bytes: zip.length,
    })}\n`,
  );
}
