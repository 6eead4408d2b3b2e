/**
 * featureToInputMaps through a max pool (a TransferLearningCore: test/fixtures/vgg, VGG16 to conv2_2 on 20x28
 * images): the 3x3 same-padded convs keep pixel positions, the 2x2 stride-2 pool puts output pixel i over input
 * pixels 2i and 2i + 1, so over 2i + 0.5; the 10x14 output's corners lie over (0.5, 0.5) and (26.5, 18.5).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../../src/model/architecture';
import { parseModelConfigText } from '../../../src/model/config';
import { featureToInputMaps, gridToPixel } from '../../../src/state/derived/readout_geometry';
import { VGG } from '../../fixtures/paths';

describe('featureToInputMaps with a max pool', () => {
  it('puts VGG16 conv2_2 output pixel i over input pixel 2i + 0.5', async () => {
    const sd = await readCheckpoint(new Uint8Array(readFileSync(join(VGG, 'model.pth'))), 'model.pth');
    const config = parseModelConfigText(readFileSync(join(VGG, 'config.json'), 'utf8'), 'config.json').config;
    const arch = inferArchitecture(sd, config, 'model.pth');
    const maps = featureToInputMaps(arch.core);
    expect(maps.x).toEqual({ scale: 2, offset: 0.5 });
    expect(maps.y).toEqual({ scale: 2, offset: 0.5 });
    const [, fh, fw] = arch.core.outputShape;
    expect([fh, fw]).toEqual([10, 14]);
    expect(gridToPixel(-1, fw, maps.x)).toBeCloseTo(0.5, 10);
    expect(gridToPixel(1, fw, maps.x)).toBeCloseTo(26.5, 10);
    expect(gridToPixel(1, fh, maps.y)).toBeCloseTo(18.5, 10);
  });
});
