import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../../src/model/architecture';
import { parseModelConfigText } from '../../../src/model/config';
import { pixelToGrid } from '../../../src/sim/v1_truth';
import { featureToInputMaps, gridToPixel } from '../../../src/state/derived/readout_geometry';
import { SOTA } from '../../fixtures/paths';

describe('featureToInputMaps', () => {
  it('puts the SOTA core output (valid 9x9, then same-padded) over image pixels 4..59 and 4..31', async () => {
    const sd = await readCheckpoint(new Uint8Array(readFileSync(join(SOTA, 'model.pth'))), 'model.pth');
    const config = parseModelConfigText(readFileSync(join(SOTA, 'config.json'), 'utf8'), 'config.json').config;
    const arch = inferArchitecture(sd, config, 'model.pth');
    const maps = featureToInputMaps(arch.core);
    const [, fh, fw] = arch.core.outputShape;
    expect(gridToPixel(-1, fw, maps.x)).toBeCloseTo(4, 10);
    expect(gridToPixel(1, fw, maps.x)).toBeCloseTo(59, 10);
    expect(gridToPixel(-1, fh, maps.y)).toBeCloseTo(4, 10);
    expect(gridToPixel(1, fh, maps.y)).toBeCloseTo(31, 10);
    // The simulator's independent inverse (pixel -> grid) agrees everywhere.
    for (const [px, py] of [
      [10.5, 7.25],
      [31.5, 17.5],
      [55, 30],
    ]) {
      const [gx, gy] = pixelToGrid(px, py, arch.core.inputShape, [fh, fw]);
      expect(gridToPixel(gx, fw, maps.x)).toBeCloseTo(px, 9);
      expect(gridToPixel(gy, fh, maps.y)).toBeCloseTo(py, 9);
    }
  });

  it('follows strides and padding of every conv', () => {
    const conv = (k: number, p: number, s: number) => ({
      weightKey: '',
      biasKey: null,
      inChannels: 1,
      outChannels: 1,
      kernel: [k, k] as [number, number],
      groups: 1,
      stride: s,
      dilation: 1,
      padding: [p, p] as [number, number],
    });
    const layer = (index: number, convs: ReturnType<typeof conv>[]) => ({
      index,
      kind: 'conv' as const,
      convs,
      inChannels: 1,
      outChannels: 1,
      batchNorm: null,
      biasKey: null,
      scaleKey: null,
      elu: true,
      outHeight: 0,
      outWidth: 0,
    });
    const core = {
      inputChannels: 1,
      stack: [1],
      outputChannels: 1,
      momentum: null,
      inputShape: [1, 64, 64] as [number, number, number],
      outputShape: [1, 0, 0] as [number, number, number],
      // 5x5 stride 2 valid: out i over input 2i + 2; then 3x3 pad 1 stride 1: out j over j. Composed: 2j + 2.
      layers: [layer(0, [conv(5, 0, 2)]), layer(1, [conv(3, 1, 1)]), layer(2, [conv(3, 0, 1)])],
    };
    // Layer 2 is not stacked (stack = [1]), so its valid 3x3 (which would add 2) does not count.
    const m = featureToInputMaps(core as unknown as Parameters<typeof featureToInputMaps>[0]);
    expect(m.x).toEqual({ scale: 2, offset: 2 });
    expect(m.y).toEqual({ scale: 2, offset: 2 });
  });
});
