/**
 * The metrics on the simulated scan whose ground truth is known (test/fixtures/sim-scan): the oracle of the
 * stored test responses equals neuralpredictors' `oracle_corr_jackknife` (oracle_jackknife.npy), and the true
 * rates as prediction reproduce the `ceiling` numbers neuralpredictors computed (reference_results.json).
 * The true rates of the test trials come from true_rates_test.npy: one row per test image (its 10 repeats share
 * it), in the order of true_rates_test_image_ids.npy.
 * Reads the zip directly so that this checks the metrics alone, not the scan loader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/io/host_tensor';
import { parseNpy, parseNumericNpy } from '../../src/io/npy';
import { ZipArchive } from '../../src/io/zip_archive';
import { evaluate } from '../../src/metrics';
import { SIM, SIM_TRUTH, SIM_ZIP as ZIP } from '../fixtures/paths';

const npy = (path: string) => parseNumericNpy(new Uint8Array(readFileSync(path)), path);

describe('metrics on static-sim-a', () => {
  it('reproduce the jackknife oracle and the ceiling metrics of neuralpredictors', async () => {
    const zip = await ZipArchive.open(new Uint8Array(readFileSync(ZIP)), ZIP);
    const root = 'static-sim-a/';
    const tiers = parseNpy(await zip.read(root + 'meta/trials/tiers.npy')).data as string[];
    const ids = parseNumericNpy(await zip.read(root + 'meta/trials/frame_image_id.npy')).data as BigInt64Array;
    const test = tiers.flatMap((t, i) => (t === 'test' ? [i] : []));
    const neurons = 1000;
    const responses = new Float32Array(test.length * neurons);
    for (let k = 0; k < test.length; k++) {
      responses.set(toFloat32(parseNumericNpy(await zip.read(`${root}data/responses/${test[k]}.npy`))), k * neurons);
    }
    await zip.close();
    const imageRates = npy(join(SIM_TRUTH, 'true_rates_test.npy')).data as Float32Array; // (100 images, neurons)
    const rowOf = new Map(
      Array.from(npy(join(SIM_TRUTH, 'true_rates_test_image_ids.npy')).data as BigInt64Array, (id, row) => [id, row]),
    );
    const predictions = new Float32Array(test.length * neurons);
    test.forEach((i, k) => {
      const row = rowOf.get(ids[i]);
      if (row === undefined) throw new Error(`test image ${ids[i]} has no row in true_rates_test.npy`);
      predictions.set(imageRates.subarray(row * neurons, (row + 1) * neurons), k * neurons);
    });
    const oracleRef = npy(join(SIM_TRUTH, 'oracle_jackknife.npy')).data as Float32Array;
    const ceiling = JSON.parse(readFileSync(join(SIM, 'reference_results.json'), 'utf8')).ceiling as Record<
      string,
      number
    >;

    const r = evaluate({ predictions, responses, neurons, imageIds: test.map((i) => ids[i]) });
    let worst = 0;
    for (let n = 0; n < neurons; n++) worst = Math.max(worst, Math.abs(r.perNeuron.oracle![n] - oracleRef[n]));
    expect(worst).toBeLessThan(2e-5);
    expect(r.summary.trials).toBe(1000);
    expect(r.summary.repeated_images).toBe(100);
    expect(Math.abs(r.summary.test_correlation! - ceiling.test_correlation)).toBeLessThan(0.002);
    expect(Math.abs(r.summary.correlation_to_average! - ceiling.correlation_to_average)).toBeLessThan(0.002);
    expect(Math.abs(r.summary.oracle! - ceiling.oracle)).toBeLessThan(0.002);
    expect(Math.abs(r.summary.fraction_oracle! - ceiling.fraction_oracle)).toBeLessThan(0.01);
    // the true rates are in the stored units, so FEVE carries over here (it does not for truth_model.pth)
    expect(Math.abs(r.summary.feve! - ceiling.feve)).toBeLessThan(0.002);
  });
});
