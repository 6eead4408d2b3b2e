import { describe, expect, it } from 'vitest';
import { loadScan, openZipScan, tierIndices } from '../../src/io/scan';
import { groupByImage, oracleJackknife, selectTrials } from '../../src/metrics';
import { writeScanZip } from '../../src/sim/scan_writer';
import { simulateV1Scan } from '../../src/sim/v1_scan';

/** Index of the first differing element, -1 when equal (cheaper than a deep toEqual on big arrays). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const opts = { animalSeed: 3, nNeurons: 120, nTrain: 300, nValidation: 40, nTest: 40, testRepeats: 10 };

describe('simulateV1Scan', () => {
  const { scan, truth } = simulateV1Scan(opts);
  const N = scan.neurons;
  const T = scan.tiers.length;

  it('has the tiers, repeats and ids of a static scan', () => {
    expect(T).toBe(300 + 40 + 40 * 10);
    const count = (t: string) => scan.tiers.filter((x) => x === t).length;
    expect([count('train'), count('validation'), count('test')]).toEqual([300, 40, 400]);
    const testGroups = groupByImage(scan.tiers.flatMap((t, i) => (t === 'test' ? [scan.frameImageId[i]] : [])));
    expect(testGroups.length).toBe(40);
    for (const g of testGroups) expect(g.trials.length).toBe(10);
    // repeats show identical images
    const ids = Array.from(scan.frameImageId);
    const firstOf = new Map<number, number>();
    let mismatched = 0;
    ids.forEach((id, t) => {
      const f = firstOf.get(id);
      if (f === undefined) firstOf.set(id, t);
      else if (scan.images.subarray(t * 2304, (t + 1) * 2304).some((v, p) => v !== scan.images[f * 2304 + p]))
        mismatched++;
    });
    expect(firstOf.size).toBe(380);
    expect(mismatched).toBe(0);
    expect([...scan.trialIdx!].sort((a, b) => a - b)).toEqual(Array.from({ length: T }, (_, i) => i));
    // test trials are spread through the stored order, not in a block
    const testPos = scan.tiers.flatMap((t, i) => (t === 'test' ? [i] : []));
    expect(testPos[0]).toBeLessThan(T / 4);
    expect(testPos[testPos.length - 1]).toBeGreaterThan((3 * T) / 4);
    const units = Array.from(scan.unitIds);
    for (let n = 1; n < N; n++) expect(units[n]).toBeGreaterThan(units[n - 1]);
    expect(scan.animalId).toBe(92003);
  });

  it('draws Poisson responses around the stored expectation, and is reproducible', () => {
    let sumResp = 0;
    let sumExp = 0;
    let worstFraction = 0;
    for (let i = 0; i < scan.responses.length; i++) {
      const k = scan.responses[i] * truth.responseScale[i % N];
      worstFraction = Math.max(worstFraction, Math.abs(k - Math.round(k)));
      sumResp += scan.responses[i];
      sumExp += truth.expectedResponses[i];
    }
    expect(worstFraction).toBeLessThan(1e-4); // integer event counts before the unit scale
    expect(Math.abs(sumResp / sumExp - 1)).toBeLessThan(0.02);
    const again = simulateV1Scan(opts);
    expect(firstDifference(again.scan.responses, scan.responses)).toBe(-1);
    expect(firstDifference(again.scan.images, scan.images)).toBe(-1);
  });

  it('sets the gain so that the median oracle is near the target', () => {
    const test = tierIndices(scan, 'test');
    const oracle = oracleJackknife(
      selectTrials(scan.responses, N, test),
      N,
      groupByImage(Array.from(test, (t) => scan.frameImageId[t])),
    );
    const sorted = Array.from(oracle).sort((a, b) => a - b);
    const med = sorted[N >> 1];
    expect(Math.abs(med - 0.6)).toBeLessThan(0.06);
    const expSorted = Array.from(truth.expectedOracle).sort((a, b) => a - b);
    expect((expSorted[N / 2 - 1] + expSorted[N / 2]) / 2).toBeCloseTo(0.6, 6);
  });

  it('writes a FileTree zip that the scan loader reads back to the same arrays', async () => {
    const zip = await writeScanZip(scan);
    const loaded = await loadScan(await openZipScan(zip, `${scan.name}.zip`));
    expect(loaded.name).toBe(scan.name);
    expect(loaded.nTrials).toBe(T);
    expect(loaded.nNeurons).toBe(N);
    expect(loaded.imageShape).toEqual([1, 36, 64]);
    expect(firstDifference(loaded.images, scan.images)).toBe(-1);
    expect(firstDifference(loaded.responses, scan.responses)).toBe(-1);
    expect(loaded.tiers).toEqual(scan.tiers);
    expect(Array.from(loaded.frameImageId)).toEqual(Array.from(scan.frameImageId));
    expect(loaded.unitIds).toEqual(Array.from(scan.unitIds));
    expect(Array.from(loaded.cellMotorCoordinates!)).toEqual(Array.from(scan.cellMotorCoordinates, Math.fround));
    expect(loaded.dataKey).toBe('92003-1-1');
    expect(loaded.warnings.filter((w) => /repeat|oracle/i.test(w))).toEqual([]);
  });
});
