/**
 * The bundled demo's simulated animals: several to train a shared core on, and one held out for the
 * transfer experiment (fit a readout on a frozen core vs a random core vs training directly). Every animal
 * has its own seed, neurons, retinotopic map and image set; all are reproducible from this table.
 *
 * Sizes are set by the demo's budget (issue 6): the core must train in under 30 minutes on a 2-core
 * machine, and the held-out scan must load in about a second in the browser; the held-out training tier is
 * large enough to subsample at several training-set sizes (the paper's Fig. 5 in miniature).
 */
import { simulateV1Scan, type V1Scan, type V1ScanOptions } from './v1_scan';

export type DemoRole = 'train' | 'heldout';

export interface DemoAnimal extends V1ScanOptions {
  name: string;
  role: DemoRole;
}

const common = { imageShape: [1, 36, 64] as [1, number, number], testRepeats: 10, targetMedianOracle: 0.6 };

export const DEMO_ANIMALS: readonly DemoAnimal[] = [
  {
    ...common,
    name: 'static-v1demo-a',
    role: 'train',
    animalSeed: 101,
    nNeurons: 500,
    nTrain: 2500,
    nValidation: 300,
    nTest: 50,
  },
  {
    ...common,
    name: 'static-v1demo-b',
    role: 'train',
    animalSeed: 102,
    nNeurons: 500,
    nTrain: 2500,
    nValidation: 300,
    nTest: 50,
  },
  {
    ...common,
    name: 'static-v1demo-c',
    role: 'train',
    animalSeed: 103,
    nNeurons: 500,
    nTrain: 2500,
    nValidation: 300,
    nTest: 50,
  },
  {
    ...common,
    name: 'static-v1demo-d',
    role: 'train',
    animalSeed: 104,
    nNeurons: 500,
    nTrain: 2500,
    nValidation: 300,
    nTest: 50,
  },
  {
    ...common,
    name: 'static-v1demo-heldout',
    role: 'heldout',
    animalSeed: 201,
    nNeurons: 300,
    nTrain: 1600,
    nValidation: 200,
    nTest: 40,
  },
];

/** Training-set sizes of the held-out animal in the transfer experiment (nested subsets of its train tier). */
export const DEMO_TRAINING_SIZES: readonly number[] = [100, 200, 400, 800, 1600];

/** Simulates one demo animal (deterministic; ~5 ms per unique image for image synthesis plus ~3 ms for 500 neurons). */
export function simulateDemoAnimal(animal: DemoAnimal, onProgress?: (done: number, total: number) => void): V1Scan {
  return simulateV1Scan({ ...animal, onProgress });
}

export function demoAnimal(name: string): DemoAnimal {
  const a = DEMO_ANIMALS.find((x) => x.name === name);
  if (!a) throw new Error(`no demo animal '${name}' (have ${DEMO_ANIMALS.map((x) => x.name).join(', ')})`);
  return a;
}
