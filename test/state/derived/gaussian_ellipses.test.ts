import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNumericNpy } from '../../../src/io/npy';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../../src/model/architecture';
import { parseModelConfigText } from '../../../src/model/config';
import {
  confidenceRadius,
  ellipseOf,
  pixelEllipses,
  pixelsPerGridUnit,
  sampledPixelsWith,
} from '../../../src/state/derived/gaussian_ellipses';
import { featureToInputMaps, gridToPixel, type ReadoutGeometry } from '../../../src/state/derived/readout_geometry';
import { Rng } from '../../../src/util/rng';
import { SOTA } from '../../fixtures/paths';

function npy(name: string): Float32Array {
  return parseNumericNpy(new Uint8Array(readFileSync(join(SOTA, name))), name).data as Float32Array;
}

/** The SOTA readout's geometry, built from the fixtures (grid.npy) and the checkpoint's sigma, without tfjs. */
async function sotaGeometry(): Promise<ReadoutGeometry> {
  const sd = await readCheckpoint(new Uint8Array(readFileSync(join(SOTA, 'model.pth'))), 'model.pth');
  const config = parseModelConfigText(readFileSync(join(SOTA, 'config.json'), 'utf8'), 'config.json').config;
  const arch = inferArchitecture(sd, config, 'model.pth');
  const maps = featureToInputMaps(arch.core);
  const [, fh, fw] = arch.core.outputShape;
  const [, ih, iw] = arch.core.inputShape;
  const sigma = sd.get('readout.26872-17-20.sigma')!;
  const grid = npy('grid.npy');
  const N = grid.length / 2;
  const pixels = new Float32Array(2 * N);
  for (let n = 0; n < N; n++) {
    pixels[2 * n] = gridToPixel(grid[2 * n], fw, maps.x);
    pixels[2 * n + 1] = gridToPixel(grid[2 * n + 1], fh, maps.y);
  }
  return {
    neurons: N,
    kind: 'gaussian',
    position: 'mean',
    factorized: null,
    grid,
    pixels,
    sigma: Float32Array.from(sigma.data as Float32Array),
    gaussType: 'full',
    cortex: null,
    cortexDims: 0,
    retinotopy: null,
    featureSize: [fh, fw],
    imageSize: [ih, iw],
    mapX: maps.x,
    mapY: maps.y,
  };
}

describe('confidenceRadius', () => {
  it('is the square root of the chi-square (2 dof) quantile', () => {
    // Tabulated chi-square quantiles with 2 degrees of freedom: 5.991 (95 %), 4.605 (90 %), 1.386 (50 %).
    expect(confidenceRadius(0.95) ** 2).toBeCloseTo(5.991, 3);
    expect(confidenceRadius(0.9) ** 2).toBeCloseTo(4.605, 3);
    expect(confidenceRadius(0.5) ** 2).toBeCloseTo(1.386, 3);
    // One standard deviation of each component: p = 1 - exp(-1/2).
    expect(confidenceRadius(1 - Math.exp(-0.5))).toBeCloseTo(1, 12);
    expect(() => confidenceRadius(1)).toThrow(RangeError);
  });
});

describe('ellipseOf', () => {
  it('gives semi-axes and direction of the image of the unit circle', () => {
    const e = ellipseOf(3, 0, 0, 1);
    expect([e.rx, e.ry, e.angle]).toEqual([3, 1, 0]);
    // A rotation by 30 degrees of diag(2, 0.5): same axes, rotated.
    const t = Math.PI / 6;
    const r = ellipseOf(2 * Math.cos(t), -0.5 * Math.sin(t), 2 * Math.sin(t), 0.5 * Math.cos(t));
    expect(r.rx).toBeCloseTo(2, 12);
    expect(r.ry).toBeCloseTo(0.5, 12);
    expect(r.angle).toBeCloseTo(t, 12);
  });
});

describe('the SOTA readout', () => {
  it("sampled positions match neuralpredictors' sample_grid (fixture noise -> sampled_grid, 1e-6 grid units)", async () => {
    const g = await sotaGeometry();
    const noise = npy('noise.npy'); // (2, N, 1, 2) = (2, N, 2)
    const expected = npy('sampled_grid.npy');
    const px = sampledPixelsWith(g, noise);
    const [kx, ky] = pixelsPerGridUnit(g);
    let worst = 0;
    for (let i = 0; i < expected.length; i += 2) {
      worst = Math.max(worst, Math.abs(px[i] - gridToPixel(expected[i], g.featureSize[1], g.mapX)) / kx);
      worst = Math.max(worst, Math.abs(px[i + 1] - gridToPixel(expected[i + 1], g.featureSize[0], g.mapY)) / ky);
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('ellipses hold the chosen probability of the positions the model samples', async () => {
    const g = await sotaGeometry();
    // Neurons whose ellipses are well inside the feature map (so the clamp to [-1, 1] does not cut them) and
    // clearly elongated and tilted, where a transposed Sigma or swapped x / y scales would show.
    const picked: number[] = [];
    const probe = pixelEllipses(g, 0.95);
    for (let n = 0; n < g.neurons && picked.length < 12; n++) {
      const [rx, ry, angle] = [probe[3 * n], probe[3 * n + 1], probe[3 * n + 2]];
      if (rx > 1.5 * ry && Math.abs(Math.sin(2 * angle)) > 0.5 && rx < 5) picked.push(n);
    }
    expect(picked.length).toBe(12);
    const draws = 4000;
    const rng = new Rng(7);
    for (const p of [0.5, 0.9]) {
      const e = pixelEllipses(g, p);
      for (const n of picked) {
        const sub: ReadoutGeometry = {
          ...g,
          neurons: 1,
          grid: g.grid.slice(2 * n, 2 * n + 2),
          pixels: g.pixels.slice(2 * n, 2 * n + 2),
          sigma: g.sigma.slice(4 * n, 4 * n + 4),
        };
        const pts = sampledPixelsWith(sub, rng.normalArray(draws * 2));
        const [rx, ry, angle] = [e[3 * n], e[3 * n + 1], e[3 * n + 2]];
        const c = Math.cos(angle),
          s = Math.sin(angle);
        let inside = 0;
        for (let k = 0; k < draws; k++) {
          const dx = pts[2 * k] - g.pixels[2 * n];
          const dy = pts[2 * k + 1] - g.pixels[2 * n + 1];
          const u = (c * dx + s * dy) / rx;
          const v = (-s * dx + c * dy) / ry;
          if (u * u + v * v <= 1) inside++;
        }
        const se = Math.sqrt((p * (1 - p)) / draws);
        expect(Math.abs(inside / draws - p), `neuron ${n} at p=${p}`).toBeLessThan(4 * se);
      }
    }
  });
});
