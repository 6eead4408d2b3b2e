/**
 * Feature sharing on vs off in the direct condition (a new core and one readout per scan trained end to end; Lurz et
 * al. 2021's comparison, issue 14): for each seed, K matched scans of one simulated animal (src/sim/matched_scans.ts:
 * the same Gabor neurons, each scan with its own images, trial order, noise and response units), then the same new
 * model (core and readouts seeded alike) trained twice on the scans, with the readouts sharing each matched neuron's
 * features (model/feature_sharing.ts) and without. Scored on each scan's test tier (mean test correlation over all
 * neurons of all scans; fraction of oracle); summarized over seeds with 95% t-intervals (src/experiments/interval.ts),
 * and the paired difference (sharing - not) per seed with its interval.
 *
 * Usage: node --import tsx bench/feature_sharing.ts [--seeds 1,2,3,4,5] [--scans 2] [--neurons 40] [--train 200]
 *   [--readout gaussian|factorized] [--max-epochs 30] [--backend wasm]
 * One JSON line per run, then one summary line.
 *
 * Measured (2-core machine under load, ~4 min per run at 800 images): 2 scans x 40 neurons, 5 seeds, mean test
 * correlation over both scans' neurons with 95% t-intervals:
 *   --train 200 (max 30 epochs): off 0.0557 [0.0288, 0.0825], on 0.0565 [0.0297, 0.0832], on - off +0.0008
 *     [-0.0033, +0.0050] (the direct models barely learn from 200 images);
 *   --train 800 --max-epochs 40: off 0.389 [0.365, 0.414], on 0.418 [0.393, 0.444], on - off +0.029 [+0.008, +0.050]
 *     (fraction of oracle 0.655 [0.596, 0.714] vs 0.704 [0.648, 0.759], +0.049 [+0.014, +0.083]); sharing better in
 *     every seed; every run stopped at the 40-epoch cap;
 *   --train 800 --readout factorized --max-epochs 80 (early stopping at 30-55 epochs): off 0.380 [0.271, 0.490],
 *     on 0.407 [0.362, 0.453], on - off +0.027 [-0.075, +0.129] (better in 4 of 5 seeds; the interval includes 0).
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type NodeBackend } from '../src/backend/node';
import { summarizeSeeds } from '../src/experiments/interval';
import { loadScan, openZipScan } from '../src/io/scan';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config';
import type { ReadoutKind } from '../src/model/readout_types';
import { simulateMatchedV1Scans } from '../src/sim/matched_scans';
import { writeScanZip } from '../src/sim/scan_writer';
import { encoderWithNewReadouts, initCoreStateDict, newReadoutFor } from '../src/train/end_to_end/new_model';
import { type EndToEndScan, endToEndScan } from '../src/train/end_to_end/scan_data';
import { evaluateTierE2E, trainEndToEnd } from '../src/train/end_to_end/trainer';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const seeds = flag('seeds', '1,2,3,4,5').split(',').map(Number);
const K = Number(flag('scans', '2'));
const neurons = Number(flag('neurons', '40'));
const nTrain = Number(flag('train', '200'));
const readoutType = flag('readout', 'gaussian') as ReadoutKind;
const maxEpochs = Number(flag('max-epochs', '30'));
const backend = flag('backend', 'wasm') as NodeBackend;
const IMAGE: [1, number, number] = [1, 18, 32];
const CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 8,
  input_kern: 7,
  hidden_kern: 5,
  input_shape: [...IMAGE],
  grid_mean_predictor: null,
};

async function matchedScans(seed: number): Promise<EndToEndScan[]> {
  const sims = simulateMatchedV1Scans(
    {
      animalSeed: seed,
      nNeurons: neurons,
      imageShape: IMAGE,
      nTrain,
      nValidation: 100,
      nTest: 40,
      testRepeats: 5,
    },
    K,
  );
  const out: EndToEndScan[] = [];
  for (const [k, v] of sims.entries())
    out.push(endToEndScan(await loadScan(await openZipScan(await writeScanZip(v.scan), `matched-${seed}-${k}.zip`))));
  return out;
}

async function main(): Promise<void> {
  await initNodeBackend(backend);
  const rows: { seed: number; share: boolean; test: number; fractionOracle: number; epochs: number; s: number }[] = [];
  for (const seed of seeds) {
    const scans = await matchedScans(seed);
    for (const share of [false, true]) {
      const encoder = encoderWithNewReadouts(
        initCoreStateDict(CONFIG, seed),
        CONFIG,
        scans.map((s) => ({ ...newReadoutFor(s), type: readoutType })),
        seed,
        'new model',
        share,
      );
      try {
        const t0 = performance.now();
        const r = await trainEndToEnd(encoder, scans, { seed, schedule: { maxEpochs } });
        let sum = 0,
          fo = 0,
          n = 0;
        for (const s of scans) {
          const e = (await evaluateTierE2E(encoder, s, s.test!)).summary;
          sum += (e.test_correlation ?? NaN) * s.neurons;
          fo += (e.fraction_oracle ?? NaN) * s.neurons;
          n += s.neurons;
        }
        const row = {
          seed,
          share,
          test: sum / n,
          fractionOracle: fo / n,
          epochs: r.epochs,
          s: (performance.now() - t0) / 1000,
        };
        rows.push(row);
        console.log(JSON.stringify({ ...row, readout: readoutType, scans: K, neurons, train: nTrain }));
      } finally {
        encoder.dispose();
      }
    }
    if (tf.memory().numTensors > 1000) throw new Error(`tensor leak: ${tf.memory().numTensors}`);
  }
  const of = (share: boolean, key: 'test' | 'fractionOracle') =>
    rows.filter((r) => r.share === share).map((r) => r[key]);
  const diff = (key: 'test' | 'fractionOracle') => {
    const on = of(true, key),
      off = of(false, key);
    return on.map((v, i) => v - off[i]);
  };
  console.log(
    JSON.stringify({
      summary: { readout: readoutType, scans: K, neurons, train: nTrain, seeds },
      test_correlation: { off: summarizeSeeds(of(false, 'test')), on: summarizeSeeds(of(true, 'test')) },
      fraction_oracle: {
        off: summarizeSeeds(of(false, 'fractionOracle')),
        on: summarizeSeeds(of(true, 'fractionOracle')),
      },
      paired_difference_on_minus_off: {
        test_correlation: summarizeSeeds(diff('test')),
        fraction_oracle: summarizeSeeds(diff('fractionOracle')),
      },
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
