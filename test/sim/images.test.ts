import { describe, expect, it } from 'vitest';
import { fft2d } from '../../src/sim/fft';
import { generateImage, generateImages } from '../../src/sim/images';

describe('fft2d', () => {
  it('equals a direct DFT', () => {
    const h = 8,
      w = 16;
    const re = Float64Array.from({ length: h * w }, (_, i) => Math.sin(i * 1.7) + (i % 5));
    const im = Float64Array.from({ length: h * w }, (_, i) => Math.cos(i * 0.3));
    const r2 = Float64Array.from(re),
      i2 = Float64Array.from(im);
    fft2d(r2, i2, h, w);
    for (const [ky, kx] of [
      [0, 0],
      [1, 3],
      [5, 15],
      [7, 8],
    ]) {
      let sr = 0,
        si = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const a = -2 * Math.PI * ((ky * y) / h + (kx * x) / w);
          sr += re[y * w + x] * Math.cos(a) - im[y * w + x] * Math.sin(a);
          si += re[y * w + x] * Math.sin(a) + im[y * w + x] * Math.cos(a);
        }
      expect(r2[ky * w + kx]).toBeCloseTo(sr, 9);
      expect(i2[ky * w + kx]).toBeCloseTo(si, 9);
    }
  });
});

describe('generated images', () => {
  it('are reproducible by (seed, index), differ otherwise, and come in any size', () => {
    const a = generateImage(5, 3, 36, 64);
    expect(generateImage(5, 3, 36, 64)).toEqual(a);
    expect(generateImage(5, 4, 36, 64)).not.toEqual(a);
    expect(generateImage(6, 3, 36, 64)).not.toEqual(a);
    const batch = generateImages(3, 36, 64, 5, 2);
    expect(batch.subarray(36 * 64, 2 * 36 * 64)).toEqual(a);
    for (const [h, w] of [
      [1, 1],
      [3, 7],
      [37, 65],
      [144, 256],
    ])
      expect(generateImage(1, 0, h, w).length).toBe(h * w);
    expect(() => generateImage(1, 0, 0, 4)).toThrow(/size/);
  });

  const h = 64,
    w = 64,
    count = 40;
  const images = Array.from({ length: count }, (_, i) => generateImage(11, i, h, w));

  it('use the 8-bit range with a spread of grey levels', () => {
    for (const img of images) {
      let lo = 255,
        hi = 0,
        s = 0,
        ss = 0;
      for (const v of img) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        s += v;
        ss += v * v;
      }
      const sd = Math.sqrt(ss / img.length - (s / img.length) ** 2);
      expect(lo).toBeLessThan(25);
      expect(hi).toBeGreaterThan(200);
      expect(sd).toBeGreaterThan(25);
    }
  });

  it('have a roughly 1/f^2 power spectrum, like natural images', () => {
    // radially averaged power over the middle frequencies, log-log slope (natural images: about -2)
    const bins = new Float64Array(h / 2),
      counts = new Float64Array(h / 2);
    for (const img of images) {
      const re = Float64Array.from(img),
        im = new Float64Array(h * w);
      let m = 0;
      for (const v of re) m += v;
      m /= re.length;
      for (let i = 0; i < re.length; i++) re[i] -= m;
      fft2d(re, im, h, w);
      for (let ky = 0; ky < h; ky++)
        for (let kx = 0; kx < w; kx++) {
          const f = Math.round(Math.hypot(ky <= h / 2 ? ky : ky - h, kx <= w / 2 ? kx : kx - w));
          if (f >= 2 && f < h / 2) {
            bins[f] += re[ky * w + kx] ** 2 + im[ky * w + kx] ** 2;
            counts[f]++;
          }
        }
    }
    const xs: number[] = [],
      ys: number[] = [];
    for (let f = 2; f < 24; f++) {
      xs.push(Math.log(f));
      ys.push(Math.log(bins[f] / counts[f]));
    }
    const mx = xs.reduce((a, b) => a + b) / xs.length,
      my = ys.reduce((a, b) => a + b) / ys.length;
    const slope = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / xs.reduce((s, x) => s + (x - mx) ** 2, 0);
    console.log(`power spectrum slope ${slope.toFixed(2)}`);
    expect(slope).toBeLessThan(-1.5);
    expect(slope).toBeGreaterThan(-3.5);
  });

  it('have sparse, heavy-tailed local contrast (edges), unlike Gaussian noise', () => {
    // kurtosis of horizontal pixel differences: 3 for a Gaussian field, well above for images with edges
    let kurt = 0;
    for (const img of images) {
      const d: number[] = [];
      for (let y = 0; y < h; y++) for (let x = 0; x + 1 < w; x++) d.push(img[y * w + x + 1] - img[y * w + x]);
      const m = d.reduce((a, b) => a + b) / d.length;
      const m2 = d.reduce((a, b) => a + (b - m) ** 2, 0) / d.length;
      const m4 = d.reduce((a, b) => a + (b - m) ** 4, 0) / d.length;
      kurt += m4 / (m2 * m2) / count;
    }
    console.log(`kurtosis of pixel differences ${kurt.toFixed(1)}`);
    expect(kurt).toBeGreaterThan(5);
  });
});
