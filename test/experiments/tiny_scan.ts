/**
 * The experiment tests' tiny model and scans (one implementation for runner_*.test.ts and transfer.test.ts): a
 * 2-layer, 4-channel core on 18x32 images, and simulated scans small enough that a cell trains in seconds.
 */
import { parseExperimentSpec } from '../../src/experiments/spec';
import { loadScan, openZipScan, type Scan } from '../../src/io/scan';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../src/model/config';
import { simulateMatchedV1Scans } from '../../src/sim/matched_scans';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';
import { initCoreStateDict } from '../../src/train/end_to_end/new_model';

export const TINY_IMAGE: [1, number, number] = [1, 18, 32];

export const TINY_CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 4,
  input_kern: 5,
  hidden_kern: 3,
  input_shape: [...TINY_IMAGE],
  grid_mean_predictor: { type: 'cortex', input_dimensions: 2, hidden_layers: 1, hidden_features: 8, final_tanh: true },
};

/** The parsed-config form the runner takes. */
export const TINY_PARSED = { config: TINY_CONFIG, given: [] as string[], ignored: [] as string[] };

/** The runner's inputs for `spec` on `scans`, with an initialized tiny core (seed 9) as the loaded checkpoint. */
export function tinyInputs(spec: unknown, scans: readonly Scan[]) {
  return {
    spec: parseExperimentSpec(spec),
    scans,
    config: TINY_PARSED,
    checkpoint: { stateDict: initCoreStateDict(TINY_CONFIG, 9), file: 'core.pth' },
  };
}

/** The tiers of every tiny scan: 80 train, 24 validation, 6 test images x 4 repeats. */
const TINY_TRIALS = { imageShape: TINY_IMAGE, nTrain: 80, nValidation: 24, nTest: 6, testRepeats: 4 };

/** A simulated scan `static-tiny-<seed>` (80 train, 24 validation, 6 test images x 4 repeats), through a zip. */
export async function tinyScan(seed: number, neurons: number): Promise<Scan> {
  const name = `static-tiny-${seed}`;
  const v = simulateV1Scan({ ...TINY_TRIALS, animalSeed: seed, nNeurons: neurons, name });
  return loadScan(await openZipScan(await writeScanZip(v.scan), `${name}.zip`));
}

/** K matched scans of one simulated animal (the same neurons, own images and noise), sized as tinyScan, as zips. */
export async function tinyMatchedZips(seed: number, neurons: number, K: number): Promise<Uint8Array[]> {
  const sims = simulateMatchedV1Scans({ ...TINY_TRIALS, animalSeed: seed, nNeurons: neurons }, K);
  const out: Uint8Array[] = [];
  for (const v of sims) out.push(await writeScanZip(v.scan));
  return out;
}

/** tinyMatchedZips loaded, named matched-<seed>-<k>.zip. */
export async function tinyMatchedScans(seed: number, neurons: number, K: number): Promise<Scan[]> {
  const out: Scan[] = [];
  for (const [k, zip] of (await tinyMatchedZips(seed, neurons, K)).entries())
    out.push(await loadScan(await openZipScan(zip, `matched-${seed}-${k + 1}.zip`)));
  return out;
}
