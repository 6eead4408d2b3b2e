/**
 * Image rescaling against the reference: neuralpredictors' ScaleInputs = skimage.transform.rescale(order 1,
 * mode 'reflect', no anti-aliasing, preserve_range, clip, channel_axis 0), which skimage implements as
 * scipy.ndimage.zoom(float64 image, out/in, order=1, mode='mirror', grid_mode=True) + clip. skimage is not
 * in the reference venv, so the Python side below replays skimage's own call chain on SciPy.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNumericNpy, writeNpy } from '../../../src/io/npy';
import { loadScan } from '../../../src/io/scan/load_scan';
import { normalizedImages } from '../../../src/io/scan/normalize';
import { Rescaler, rescaledSize } from '../../../src/io/scan/rescale';
import { memoryScanSource } from '../../../src/io/scan/source';
import { noTorchReason, TORCH_PYTHON as PYTHON } from '../../fixtures/paths';
import { f32, smallScanFiles } from './small_scan';

const havePython =
  existsSync(PYTHON) &&
  (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import scipy, numpy'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
if (!havePython) console.log(noTorchReason('rescale parity against SciPy'));

/** Deterministic pseudo-random uint8 pixels (mulberry32). */
function randomImage(n: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % 256;
  });
}

const SKIMAGE_RESCALE = `
import sys, numpy as np
from scipy import ndimage as ndi
def rescale(img, scale):
    # skimage.transform.rescale(img, scale, mode='reflect', anti_aliasing=False, preserve_range=True, clip=True,
    # channel_axis=0), step by step: channel axis last, output shape, resize -> ndi.zoom, clip.
    img = np.moveaxis(img, 0, -1)
    orig = np.asarray(img.shape)
    out_shape = np.maximum(np.round(np.array([scale, scale, 1.0]) * orig), 1)
    out_shape[-1] = orig[-1]
    image = img.astype(float) if img.dtype.char not in 'df' else img
    factors = np.divide(img.shape, out_shape)
    out = ndi.zoom(image, [1 / f for f in factors], order=1, mode='mirror', cval=0, grid_mode=True)
    np.clip(out, image.min(), image.max(), out=out)
    return np.moveaxis(out, -1, 0)
`;

describe('rescaledSize', () => {
  it('rounds half to even and never goes below 1, as np.round in skimage.rescale', () => {
    expect(rescaledSize(144, 0.25)).toBe(36);
    expect(rescaledSize(256, 0.25)).toBe(64);
    expect(rescaledSize(5, 0.5)).toBe(2);
    expect(rescaledSize(7, 0.5)).toBe(4);
    expect(rescaledSize(3, 0.1)).toBe(1);
  });
});

describe('Rescaler', () => {
  it('at 0.25 averages the 2x2 pixels at the centre of each 4x4 block (input coordinate 4o + 1.5)', () => {
    const [H, W] = [8, 12];
    const img = randomImage(H * W, 3);
    const r = new Rescaler(1, H, W, 0.25);
    const out = new Float32Array(r.outH * r.outW);
    r.apply(img, 0, out, 0);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 3; x++) {
        const px = (yy: number, xx: number) => img[(4 * y + yy) * W + 4 * x + xx];
        expect(out[y * 3 + x]).toBeCloseTo((px(1, 1) + px(1, 2) + px(2, 1) + px(2, 2)) / 4, 5);
      }
    }
  });

  it('at 1 is the identity', () => {
    const img = randomImage(2 * 5 * 7, 4);
    const r = new Rescaler(2, 5, 7, 1);
    const out = new Float32Array(img.length);
    r.apply(img, 0, out, 0);
    expect(Array.from(out)).toEqual(Array.from(img));
  });

  it.skipIf(!havePython)(
    'matches skimage.transform.rescale (via SciPy) for down- and up-scaling, odd sizes and several channels',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'v1x-rescale-'));
      try {
        const cases: [number, number, number, number][] = [
          [1, 144, 256, 0.25],
          [1, 36, 64, 0.3],
          [2, 17, 23, 0.37],
          [1, 9, 13, 1.7],
          [3, 6, 5, 2.5],
          [1, 10, 10, 0.5],
        ];
        cases.forEach(([c, h, w], k) =>
          writeFileSync(
            join(dir, `in${k}.npy`),
            writeNpy({ dtype: 'uint8', shape: [c, h, w], data: randomImage(c * h * w, 100 + k) }),
          ),
        );
        const script = `${SKIMAGE_RESCALE}
d = sys.argv[1]
for k, s in enumerate(${JSON.stringify(cases.map((x) => x[3]))}):
    np.save(f'{d}/out{k}.npy', rescale(np.load(f'{d}/in{k}.npy'), s))
`;
        execFileSync(PYTHON, ['-c', script, dir]);
        cases.forEach(([c, h, w, s], k) => {
          const ref = parseNumericNpy(readFileSync(join(dir, `out${k}.npy`)));
          const r = new Rescaler(c, h, w, s);
          expect([c, r.outH, r.outW]).toEqual(ref.shape);
          const src = parseNumericNpy(readFileSync(join(dir, `in${k}.npy`))).data as Uint8Array;
          const out = new Float32Array(c * r.outH * r.outW);
          r.apply(src, 0, out, 0);
          let maxDiff = 0;
          (ref.data as Float64Array).forEach((v, i) => {
            maxDiff = Math.max(maxDiff, Math.abs(v - out[i]));
          });
          expect(maxDiff, `case ${k}: ${c}x${h}x${w} at ${s}`).toBeLessThan(2e-5);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('loadScan with scale', () => {
  it.skipIf(!havePython)('gives the images the Sensorium loader gives (normalize, then ScaleInputs)', async () => {
    const [H, W] = [16, 32];
    const files = smallScanFiles();
    for (let i = 0; i < 12; i++)
      files.set(
        `static-small/data/images/${i}.npy`,
        writeNpy({ dtype: 'uint8', shape: [1, H, W], data: randomImage(H * W, 500 + i) }),
      );
    files.set('static-small/meta/statistics/images/all/mean.npy', writeNpy(f32([117.25], [])));
    files.set('static-small/meta/statistics/images/all/std.npy', writeNpy(f32([61.5], [])));
    const progress: string[] = [];
    const scan = await loadScan(memoryScanSource(files), {
      scale: 0.25,
      onProgress: (_d, _t, what) => progress.push(what),
    });
    expect(scan.imageShape).toEqual([1, 4, 8]);
    expect(scan.storedImageShape).toEqual([1, 16, 32]);
    expect(scan.images).toBeInstanceOf(Float32Array);
    expect(progress.at(-1)).toBe('done');
    const dir = mkdtempSync(join(tmpdir(), 'v1x-rescale-'));
    try {
      for (let i = 0; i < 12; i++)
        writeFileSync(join(dir, `${i}.npy`), files.get(`static-small/data/images/${i}.npy`)!);
      // The Sensorium transform order: NeuroNormalizer first (float32 statistics), then ScaleInputs.
      const script = `${SKIMAGE_RESCALE}
d = sys.argv[1]
m, s = np.float32(117.25), np.float32(61.5)
np.save(f'{d}/ref.npy', np.stack([rescale((np.load(f'{d}/{i}.npy') - m) / s, 0.25) for i in range(12)]).astype(np.float32))
`;
      execFileSync(PYTHON, ['-c', script, dir]);
      const ref = parseNumericNpy(readFileSync(join(dir, 'ref.npy')));
      expect(ref.shape).toEqual([12, 1, 4, 8]);
      const ours = normalizedImages(scan, [...Array(12).keys()]);
      let maxDiff = 0;
      (ref.data as Float32Array).forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - ours[i]));
      });
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
