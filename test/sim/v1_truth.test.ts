import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { simulateV1Scan } from '../../src/sim/v1_scan';
import { pixelToGrid, v1TruthFiles } from '../../src/sim/v1_truth';

describe('pixelToGrid', () => {
  it('maps the feature map corners to -1 and 1 and the image centre to 0 (align_corners=True)', () => {
    expect(pixelToGrid(4, 4, [1, 36, 64], [28, 56])).toEqual([-1, -1]);
    expect(pixelToGrid(59, 31, [1, 36, 64], [28, 56])).toEqual([1, 1]);
    const [cx, cy] = pixelToGrid(31.5, 17.5, [1, 36, 64], [28, 56]);
    expect(cx).toBeCloseTo(0, 12);
    expect(cy).toBeCloseTo(0, 12);
  });
});

describe('v1TruthFiles', () => {
  const v = simulateV1Scan({ animalSeed: 4, nNeurons: 60, nTrain: 120, nValidation: 20, nTest: 20, testRepeats: 5 });
  const files = new Map(v1TruthFiles(v).map((f) => [f.name, f.data]));
  const root = `${v.scan.name}-truth/`;
  const npy = (name: string) => parseNumericNpy(files.get(root + name)!, name);

  it('writes the expected responses, noise model and receptive fields as .npy', () => {
    const T = v.scan.tiers.length;
    const rates = npy('true_rates.npy');
    expect(rates.shape).toEqual([T, 60]);
    expect(Array.from(toFloat32(rates))).toEqual(Array.from(v.truth.expectedResponses));
    expect(npy('response_scale.npy').shape).toEqual([60]);
    const rf = toFloat32(npy('true_rf_px.npy'));
    const grid = toFloat32(npy('true_grid.npy'));
    v.truth.population.neurons.forEach((nr, n) => {
      expect(rf[2 * n]).toBeCloseTo(nr.rf.x0, 4);
      expect(rf[2 * n + 1]).toBeCloseTo(nr.rf.y0, 4);
      // default margin keeps every centre on the 28 x 56 output map of a 9x9 valid first layer
      expect(Math.abs(grid[2 * n])).toBeLessThanOrEqual(1 + 1e-6);
      expect(Math.abs(grid[2 * n + 1])).toBeLessThanOrEqual(1 + 1e-6);
    });
    const oracle = toFloat32(npy('oracle_jackknife.npy'));
    expect(oracle.every((o) => o > -0.5 && o <= 1)).toBe(true);
  });

  it('writes the neuron parameters and a summary as JSON', () => {
    const neurons = JSON.parse(new TextDecoder().decode(files.get(`${root}neurons.json`)));
    expect(neurons.neurons).toEqual(JSON.parse(JSON.stringify(v.truth.population.neurons)));
    expect(neurons.retinotopy.linear).toEqual(v.truth.population.retinotopy!.params.linear);
    const truth = JSON.parse(new TextDecoder().decode(files.get(`${root}truth.json`)));
    expect(truth.gain).toBe(v.truth.gain);
    expect(truth.gridGeometry.featureShape).toEqual([28, 56]);
  });
});
