/**
 * End-to-end training with factorized readouts (Klindt et al. 2017's direct condition): one batch's loss and every
 * gradient of the trainer's fused path (factorizedBatchGradients: the kernel for the readout, its map gradient back
 * through the core by tfjs) equal tfjs autograd of the model's own forward + FullFactorized2d.regularizer() + the
 * core regularizer; then a short run on a tiny simulated scan with a Gaussian and a factorized readout side by side
 * (a checkpoint may mix the kinds): the loss goes down, no tensor leaks across epochs, and the trained model
 * survives a .pth round trip. Also `v1x finetune --train-core --readout-type factorized` through the library call.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { loadScan, openZipScan } from '../../../src/io/scan';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../../src/io/torch_save';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../src/model/config';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import type { FactorizedL1Form } from '../../../src/model/readout_types';
import { encoderToStateDict } from '../../../src/model/to_state_dict';
import { writeScanZip } from '../../../src/sim/scan_writer';
import { simulateV1Scan } from '../../../src/sim/v1_scan';
import { fineTuneCoreAndReadout, liveReadout } from '../../../src/train/end_to_end/finetune_core';
import { encoderWithNewReadouts, initCoreStateDict, newReadoutFor } from '../../../src/train/end_to_end/new_model';
import { type EndToEndScan, endToEndScan } from '../../../src/train/end_to_end/scan_data';
import { type EndToEndEvent, predictTierE2E, trainEndToEnd } from '../../../src/train/end_to_end/trainer';
import { evalPositions } from '../../../src/train/readout/readout_step';
import { Rng } from '../../../src/util/rng';
import { excess, expectFusedMatchesAutograd } from './fused_vs_autograd';

const IMAGE: [1, number, number] = [1, 18, 32];
const CONFIG: ModelConfig = {
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  layers: 2,
  hidden_channels: 4,
  input_kern: 5,
  hidden_kern: 3,
  input_shape: [...IMAGE],
  grid_mean_predictor: null,
  gauss_type: 'isotropic',
};

async function tinyScan(seed: number, nTrain: number) {
  const v = simulateV1Scan({
    animalSeed: seed,
    nNeurons: 12,
    imageShape: IMAGE,
    nTrain,
    nValidation: 32,
    nTest: 6,
    testRepeats: 4,
    name: `static-tiny-${seed}`,
  });
  const source = await openZipScan(await writeScanZip(v.scan), `static-tiny-${seed}.zip`);
  return loadScan(source);
}

describe('end-to-end training with factorized readouts', () => {
  let scans: EndToEndScan[];
  beforeAll(async () => {
    await initNodeBackend('wasm');
    scans = [endToEndScan(await tinyScan(21, 96)), endToEndScan(await tinyScan(22, 64))];
  });

  for (const [label, over] of [
    ['normalized masks, per-neuron regularizer', { spatial_and_feature_reg_weight: 0.3 }],
    [
      "positive_spatial, neuralpredictors' regularizer, no normalize",
      {
        normalize: false,
        positive_spatial: true,
        factorized_l1: 'neuralpredictors' as FactorizedL1Form,
        spatial_and_feature_reg_weight: 0.02,
      },
    ],
  ] as const) {
    it(`one batch: the fused path's loss and gradients are tfjs autograd's (${label})`, async () => {
      const config: ModelConfig = { ...CONFIG, ...over };
      const s = scans[0];
      const encoder = encoderWithNewReadouts(
        initCoreStateDict(config, 4),
        config,
        [{ ...newReadoutFor(s), type: 'factorized' }],
        4,
      );
      try {
        const readout = encoder.factorizedReadout(s.key);
        // O(1) masks and features, so that nothing is trivially small (the init draws N(0, 1e-3))
        const rng = new Rng(8);
        // unnormalized masks at 1/sqrt(h w) (as the fixtures): responses stay where elu(v) + 1 is not 0 in float32
        const maskScale = readout.options.normalize ? 0.5 : 0.5 / Math.sqrt(readout.height * readout.width);
        readout.spatial.assign(
          tf.tensor(
            Float32Array.from({ length: readout.spatial.size }, () => rng.normal() * maskScale),
            readout.spatial.shape,
          ),
        );
        readout.features.assign(
          tf.tensor(
            Float32Array.from({ length: readout.features.size }, () => rng.normal() * 0.3),
            readout.features.shape,
          ),
        );
        console.log(`fused vs autograd (${label}): ${expectFusedMatchesAutograd(encoder, s, IMAGE)}`);
      } finally {
        encoder.dispose();
      }
    });
  }

  it('a mixed model (Gaussian + factorized): the loss goes down, tensors stable, the .pth predicts the same', async () => {
    const encoder = encoderWithNewReadouts(
      initCoreStateDict(CONFIG, 2),
      CONFIG,
      [{ ...newReadoutFor(scans[0]), type: 'factorized' }, newReadoutFor(scans[1])],
      2,
    );
    try {
      expect(encoder.anyReadout(scans[0].key).kind).toBe('factorized');
      expect(encoder.anyReadout(scans[1].key).kind).toBe('gaussian');
      const counts: number[] = [];
      const losses: number[] = [];
      const r = await trainEndToEnd(
        encoder,
        scans,
        { seed: 3, batchSize: 32, lr: 0.01, schedule: { maxEpochs: 3 } },
        (e: EndToEndEvent) => {
          if (e.kind === 'epoch') {
            counts.push(tf.memory().numTensors);
            if (e.epoch > 0) losses.push(e.loss);
          }
        },
      );
      expect(r.epochs).toBe(3);
      expect(losses[2]).toBeLessThan(losses[0]);
      expect(new Set(counts).size).toBe(1);
      const sd = await readCheckpoint(await saveCheckpoint(await encoderToStateDict(encoder)), 'model.pth');
      expect(sd.get(`readout.${scans[0].key}.spatial`)!.shape).toEqual([
        12,
        ...encoder.architecture.core.outputShape.slice(1),
      ]);
      const back = encoderFromStateDict(sd, CONFIG, 'model.pth', { trainable: false });
      try {
        for (const s of scans) {
          const a = await predictTierE2E(encoder, s.key, s.validation, s.imageShape);
          const b = await predictTierE2E(back, s.key, s.validation, s.imageShape);
          expect(excess(b, a)).toBeLessThanOrEqual(1);
        }
      } finally {
        back.dispose();
      }
    } finally {
      encoder.dispose();
    }
  });

  it("fine-tunes a checkpoint's core with a new factorized readout (finetune --train-core --readout-type factorized)", async () => {
    const scan = await tinyScan(23, 64);
    const sd = initCoreStateDict(CONFIG, 9);
    const out = await fineTuneCoreAndReadout({
      stateDict: sd,
      config: CONFIG,
      file: 'core.pth',
      scan,
      readoutType: 'factorized',
      factorized: { options: { regWeight: 0.05 } },
      train: { batchSize: 32, schedule: { maxEpochs: 2 } },
    });
    try {
      expect(out.readout.kind).toBe('factorized');
      if (out.readout.kind !== 'factorized') return;
      expect(out.readout.options.regWeight).toBe(0.05);
      expect(out.result.options.gammaReadout).toBe(0.05);
      expect(out.encoder.factorizedReadout(out.dataKey).options.regWeight).toBe(0.05);
      expect(out.test?.evaluation.summary.neurons).toBe(12);
      expect(out.result.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
      // the page's live view of the readout while the core trains: the masks' peaks, as the frozen-core snapshots
      const live = liveReadout(out.encoder, out.dataKey, new Rng(1));
      expect(live).toMatchObject({ kind: 'factorized', gaussType: 'uncorrelated', sampledImages: 0 });
      expect(Array.from(live.positions)).toEqual(Array.from(evalPositions(out.readout)));
    } finally {
      out.encoder.dispose();
    }
  });
});
