/**
 * The metrics on the simulated scan whose ground truth is known (../shared/fixtures/sim-scan): the oracle of the
 * stored test responses equals neuralpredictors' `oracle_corr_jackknife` (oracle_jackknife.npy), and the true
 * rates as prediction reproduce the `ceiling` numbers neuralpredictors computed (reference_results.json).
 * Reads the zip directly so that this checks the metrics alone, not the scan loader.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../../src/io/host_tensor';
import { parseNpy, parseNumericNpy } from '../../src/io/npy';
import { ZipArchive } from '../../src/io/zip_archive';
import { evaluate, selectTrials } from '../../src/metrics';

const DIR = new URL('../../../shared/fixtures/sim-scan/', import.meta.url).pathname;
const ZIP = DIR + 'static-sim-a.zip';
const have = existsSync(ZIP);
if (!have) console.log(`skipping fixture metrics: ${ZIP} not found`);

const npy = (path: string) => parseNumericNpy(new Uint8Array(readFileSync(path)), path);

describe.skipIf(!have)('metrics on static-sim-a', () => {
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
    const rates = npy(DIR + 'static-sim-a-truth/true_rates.npy').data as Float32Array;
    const oracleRef = npy(DIR + 'static-sim-a-truth/oracle_jackknife.npy').data as Float32Array;
    const ceiling = JSON.parse(readFileSync(DIR + 'reference_results.json', 'utf8')).ceiling as Record<string, number>;

    const r = evaluate({ predictions: selectTrials(rates, neurons, test), responses, neurons, imageIds: test.map((i) => ids[i]) });
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
