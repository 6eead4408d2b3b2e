/**
 * Readout parameter counts (src/state/derived/transfer_params.ts) checked against the tensors a real checkpoint holds:
 * the Sensorium SOTA fixture's readout (7776 neurons, 64 channels, full Sigma, position network) and its core
 * output's feature-map size from core_output.npy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { numel } from '../../../src/io/host_tensor';
import { parseNpy } from '../../../src/io/npy';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../../src/model/architecture';
import { DEFAULT_MODEL_CONFIG } from '../../../src/model/config';
import { positionNetworkParameters, readoutParameterCounts } from '../../../src/state/derived/transfer_params';
import { SOTA as DIR } from '../../fixtures/paths';

describe('readout parameter counts', async () => {
  const file = join(DIR, 'model.pth');
  const sd = await readCheckpoint(new Uint8Array(readFileSync(file)), file);
  const arch = inferArchitecture(sd, DEFAULT_MODEL_CONFIG, file, []);
  const r = arch.readouts[0];
  const size = (suffix: string) => numel(sd.get(`${r.prefix}${suffix}`)!.shape);
  const coreOut = parseNpy(new Uint8Array(readFileSync(join(DIR, 'core_output.npy'))), 'core_output.npy');
  const [, c, h, w] = coreOut.shape;
  const rows = Object.fromEntries(
    readoutParameterCounts({
      neurons: r.neurons,
      channels: r.channels,
      width: w,
      height: h,
      positionNetwork: r.positionNetwork,
    }).map((row) => [row.id, row]),
  );
  const n = size('bias');

  it('reads n and c as the checkpoint stores them', () => {
    expect(r.neurons).toBe(n);
    expect(r.channels).toBe(c);
  });

  it('counts the position network as the mu_transform tensors in the checkpoint', () => {
    const inFile = [...sd.keys()]
      .filter((k) => k.startsWith(`${r.prefix}mu_transform.`))
      .reduce((s, k) => s + numel(sd.get(k)!.shape), 0);
    expect(inFile).toBeGreaterThan(0);
    expect(positionNetworkParameters(r.positionNetwork!)).toBe(inFile);
    expect(rows['gaussian-retinotopy'].parameters).toBe(size('_features') + 5 + inFile);
  });

  it('counts the Gaussian readout as features + bias + Sigma (full) + a free mean per neuron', () => {
    expect(size('sigma')).toBe(4 * n);
    expect(rows.gaussian.parameters).toBe(size('_features') + size('bias') + size('sigma') + 2 * n);
  });

  it('counts dense readouts over the core output feature map', () => {
    const perImage = numel(coreOut.shape) / coreOut.shape[0];
    expect(rows['fully-connected'].parameters).toBe(n * perImage);
    expect(rows.factorized.parameters).toBe(n * c + n * h * w);
    // The point of the table: the orders of magnitude between them.
    expect(rows['fully-connected'].parameters!).toBeGreaterThan(10 * rows.factorized.parameters!);
    expect(rows.factorized.parameters!).toBeGreaterThan(rows.gaussian.parameters!);
    expect(rows.gaussian.parameters!).toBeGreaterThan(rows['gaussian-retinotopy'].parameters!);
  });

  it('has no retinotopy count without a position network, and refuses bad sizes', () => {
    const row = readoutParameterCounts({ neurons: 3, channels: 2, width: 4, height: 5, positionNetwork: null }).find(
      (x) => x.id === 'gaussian-retinotopy',
    )!;
    expect(row.parameters).toBeNull();
    expect(() =>
      readoutParameterCounts({ neurons: -1, channels: 2, width: 4, height: 5, positionNetwork: null }),
    ).toThrow(/neurons/);
  });
});
