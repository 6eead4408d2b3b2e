/**
 * The inspector on a model whose readouts share their features (test/fixtures/feature_sharing, made by
 * neuralpredictors): the barcode's weights are each neuron's own features (its scale times the shared vector, as
 * neuralpredictors' `features`), the host parameters the views draw from are the same, and sharedFeatureLinks
 * names the shared vector, the scale and the matched neurons of the other readouts (from the match ids in
 * make_fixture.py: s0 neuron 2 is id 12, which s1 holds at neuron 3 and s2 at neurons 1 and 4).
 */
import { openAsBlob } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { factorizedHostParams, readoutHostParams } from '../../../src/model/host_params';
import { neuronFeatures, readoutFeatures, sharedFeatureLinks } from '../../../src/state/services/inspector_service';
import { buildModel, disposeModel, openCheckpoint } from '../../../src/state/services/model_service';
import { FIXTURES } from '../../fixtures/paths';
import { fixtureNpy } from '../../model/factorized_fixture';
import { expectClose } from '../../model/fixture';

const DIR = `${FIXTURES}/feature_sharing`;

async function open(kind: string, readout?: string) {
  const file = async (name: string) => new File([await openAsBlob(`${DIR}/${kind}/${name}`)], name);
  return buildModel(await openCheckpoint(await file('model.pth'), await file('config.json')), readout);
}

describe('the inspector on shared features', () => {
  beforeAll(async () => {
    await initNodeBackend('cpu');
  });

  for (const kind of ['gaussian', 'factorized']) {
    it(`${kind}: barcodes are each neuron's scaled features; the links name the matched neurons`, async () => {
      for (const key of ['s0', 's1', 's2']) {
        const model = await open(kind, key);
        try {
          const f = await readoutFeatures(model);
          const ref = fixtureNpy(`${DIR}/${kind}/features_${key}.npy`).data; // Gaussian (C, N), factorized (N, C)
          const N = f.neurons,
            C = f.channels;
          const refNeuron = (n: number) =>
            Float32Array.from({ length: C }, (_, c) => (kind === 'gaussian' ? ref[c * N + n] : ref[n * C + c]));
          for (let n = 0; n < N; n++) expectClose(`${key} neuron ${n}`, neuronFeatures(f, n), refNeuron(n), 1e-6, 1e-6);
          const r = model.encoder.anyReadout(key);
          const host = r.kind === 'gaussian' ? await readoutHostParams(r) : await factorizedHostParams(r);
          expectClose(`${key} host features`, host.features, ref, 1e-6, 1e-6);
        } finally {
          disposeModel(model);
        }
      }
      const model = await open(kind, 's0');
      try {
        const links = sharedFeatureLinks(model, 2)!;
        expect(links.vector).toBe(2); // id 12 is the third smallest of 10..15
        expect(links.matches).toBe(6);
        expect(links.source).toBe('s0');
        expect(links.others.map((o) => [o.readout, o.neurons])).toEqual([
          ['s1', [3]],
          ['s2', [1, 4]],
        ]);
        expect(links.others[1].scales).toHaveLength(2);
      } finally {
        disposeModel(model);
      }
    });
  }
});
