/**
 * Cell-type populations of the project's Gabor cells (makePopulation's `cellTypes` option): K types that share
 * every tuning parameter and differ only in position; the scan and truth files carry the types.
 */
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy';
import { loadScan, openZipScan } from '../../src/io/scan';
import { generateImages } from '../../src/sim/images';
import { writeScanZip } from '../../src/sim/scan_writer';
import { makePopulation, populationFromNeurons, type V1Neuron } from '../../src/sim/v1_population';
import { simulateV1Scan } from '../../src/sim/v1_scan';
import { v1TruthFiles } from '../../src/sim/v1_truth';

const imageShape: [1, number, number] = [1, 36, 64];

/** Everything a neuron has but its position. */
function tuning(n: V1Neuron): Record<string, unknown> {
  const { rf, cortexUm: _c, mappedPx: _m, ...rest } = n;
  const { x0: _x, y0: _y, ...shape } = rf;
  return { ...rest, rf: shape };
}

describe('Gabor cell-type population', () => {
  it('K types share all tuning, differ in position, and are dealt evenly; reproducible by seed', () => {
    const pop = makePopulation({ animalSeed: 11, nNeurons: 40, imageShape, cellTypes: 4 });
    expect(pop.cellTypes).toHaveLength(4);
    const byType = [0, 1, 2, 3].map((k) => pop.neurons.filter((n) => n.cellType === k));
    expect(byType.map((g) => g.length)).toEqual([10, 10, 10, 10]);
    for (let n = 0; n < 40; n += 4) expect(new Set(pop.neurons.slice(n, n + 4).map((x) => x.cellType)).size).toBe(4);
    byType.forEach((g, k) => {
      for (const n of g) expect(tuning(n)).toEqual({ ...tuning(g[0]), cellType: k });
      expect(new Set(g.map((n) => `${n.rf.x0},${n.rf.y0}`)).size).toBe(g.length);
      expect(g[0].type).toBe(k % 2 === 0 ? 'simple' : 'complex');
      expect(g[0].rf.orientation).toBeCloseTo(byType[0][0].rf.orientation + (k * Math.PI) / 4, 12);
      expect(g[0].rf).toMatchObject(pop.cellTypes![k].rf);
    });

    expect(makePopulation({ animalSeed: 11, nNeurons: 40, imageShape, cellTypes: 4 }).neurons).toEqual(pop.neurons);
    // neuron n does not depend on how many there are
    const fewer = makePopulation({ animalSeed: 11, nNeurons: 13, imageShape, cellTypes: 4 });
    expect(fewer.neurons).toEqual(pop.neurons.slice(0, 13));
    const other = makePopulation({ animalSeed: 12, nNeurons: 40, imageShape, cellTypes: 4 });
    expect(other.cellTypes![0].rf.sf).not.toBe(pop.cellTypes![0].rf.sf);
    expect(() => makePopulation({ animalSeed: 11, nNeurons: 4, imageShape, cellTypes: 0 })).toThrow(/cellTypes/);
  });

  it('two neurons of a type at the same position respond identically (one nonlinear computation per type)', () => {
    const pop = makePopulation({ animalSeed: 5, nNeurons: 12, imageShape, cellTypes: 3 });
    const images = generateImages(20, 36, 64, 99);
    for (let k = 0; k < 3; k++) {
      const [a, b] = pop.neurons.filter((n) => n.cellType === k);
      const moved: V1Neuron = { ...b, rf: { ...b.rf, x0: a.rf.x0, y0: a.rf.y0 } };
      const r = populationFromNeurons([a, moved, b], imageShape).rates(images);
      for (let i = 0; i < 20; i++) {
        expect(r[i * 3 + 1]).toBe(r[i * 3]);
      }
      const column = (j: number) => Array.from({ length: 20 }, (_, i) => r[i * 3 + j]);
      expect(column(2)).not.toEqual(column(0));
    }
  });

  it('without the option nothing changes: same map, no types, no cellType field', () => {
    const plain = makePopulation({ animalSeed: 11, nNeurons: 10, imageShape });
    const typed = makePopulation({ animalSeed: 11, nNeurons: 10, imageShape, cellTypes: 4 });
    expect(plain.retinotopy!.params).toEqual(typed.retinotopy!.params);
    expect(plain.cellTypes).toBeUndefined();
    for (const n of plain.neurons) expect('cellType' in n).toBe(false);
    // the first neuron's position is drawn before its tuning: the same in both
    expect(typed.neurons[0].cortexUm).toEqual(plain.neurons[0].cortexUm);
  });

  it('simulateV1Scan writes the types into meta/neurons/cell_types.npy and the truth folder', async () => {
    const opts = {
      animalSeed: 21,
      nNeurons: 30,
      nTrain: 40,
      nValidation: 10,
      nTest: 5,
      testRepeats: 3,
      name: 'static-gt',
    };
    const v = simulateV1Scan({ ...opts, population: { cellTypes: 3 } });
    const types = v.truth.population.neurons.map((n) => n.cellType);
    expect(v.scan.cellTypes).toEqual(types);
    const loaded = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-gt.zip'));
    expect(loaded.neurons.cellTypes).toEqual(types);
    const truth = v1TruthFiles(v);
    const file = truth.find((f) => f.name === 'static-gt-truth/cell_types.npy')!;
    const t = parseNpy(file.data, 'cell_types.npy');
    expect(t.dtype).toBe('int64');
    expect(Array.from(t.data as BigInt64Array, Number)).toEqual(types);
    const json = JSON.parse(new TextDecoder().decode(truth.find((f) => f.name.endsWith('truth.json'))!.data));
    expect(json.cellTypes.K).toBe(3);
    expect(json.cellTypes.counts).toEqual([10, 10, 10]);
    expect(v1TruthFiles(v, undefined, 'elsewhere')[0].name).toBe('elsewhere/');

    const plain = simulateV1Scan(opts);
    expect(plain.scan.cellTypes).toBeUndefined();
    expect(v1TruthFiles(plain).some((f) => f.name.endsWith('cell_types.npy'))).toBe(false);
    const plainLoaded = await loadScan(await openZipScan(await writeScanZip(plain.scan), 'p.zip'));
    expect(plainLoaded.neurons.cellTypes).toBeUndefined();
  });
});
