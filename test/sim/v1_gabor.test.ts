import { describe, expect, it } from 'vitest';
import { applyKernel, type GaborParams, gaborKernel, gaussianWindow } from '../../src/sim/gabor';
import { grating } from '../../src/sim/v1_stimuli';

const H = 36;
const W = 64;
const toContrast = (img: Float32Array): Float32Array => img.map((v) => (v - 127.5) / 127.5);
const base: GaborParams = { x0: 30.3, y0: 17.6, sigma: 3.2, aspect: 1.4, sf: 0.09, orientation: 0.7, phase: 1.1 };

describe('gaborKernel', () => {
  it('gives 1 for its optimal full-contrast grating and nothing for uniform luminance', () => {
    for (const p of [
      base,
      { ...base, sf: 0.08, sigma: 0.25 / 0.08, phase: 0 },
      { ...base, orientation: 2.9, phase: 4 },
    ]) {
      const k = gaborKernel(p, H, W);
      const opt = grating(H, W, { orientation: p.orientation, sf: p.sf, phase: p.phase, center: [p.x0, p.y0] });
      expect(applyKernel(k, toContrast(opt), W)).toBeCloseTo(1, 3);
      expect(Math.abs(applyKernel(k, new Float32Array(H * W).fill(1), W))).toBeLessThan(1e-4);
      // the anti-phase grating gives -1, the quadrature one ~0
      const anti = grating(H, W, {
        orientation: p.orientation,
        sf: p.sf,
        phase: p.phase + Math.PI,
        center: [p.x0, p.y0],
      });
      expect(applyKernel(k, toContrast(anti), W)).toBeCloseTo(-1, 3);
    }
  });

  it('is cut to the image, keeping the gain of the full field (half a field sees half the grating)', () => {
    const inside = gaborKernel({ ...base, x0: 32, orientation: Math.PI / 2 }, H, W);
    const edge = gaborKernel({ ...base, x0: 0, orientation: Math.PI / 2 }, H, W);
    expect(inside.col0).toBeGreaterThan(0);
    expect(edge.col0).toBe(0);
    expect(edge.cols).toBeLessThan(inside.cols);
    // horizontal stripes: the left half of a field centred on column 0 is off screen
    const g = (x0: number) =>
      toContrast(grating(H, W, { orientation: Math.PI / 2, sf: base.sf, phase: base.phase, center: [x0, base.y0] }));
    const rIn = applyKernel(inside, g(32), W);
    const rEdge = applyKernel(edge, g(0), W);
    expect(rIn).toBeCloseTo(1, 3);
    expect(rEdge).toBeGreaterThan(0.45);
    expect(rEdge).toBeLessThan(0.62);
  });

  it('moves with its centre: shifting the field by whole pixels equals shifting the image', () => {
    const img = toContrast(
      grating(H, W, { orientation: 0.3, sf: 0.11, phase: 0.2 }).map((v, i) => v + 30 * Math.sin(i * 0.37)),
    );
    const k0 = gaborKernel(base, H, W);
    const k1 = gaborKernel({ ...base, x0: base.x0 + 3, y0: base.y0 - 2 }, H, W);
    const shifted = new Float32Array(H * W);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const sy = y - 2;
        const sx = x + 3;
        shifted[y * W + x] = sy >= 0 && sy < H && sx >= 0 && sx < W ? img[sy * W + sx] : 0;
      }
    expect(applyKernel(k1, img, W)).toBeCloseTo(applyKernel(k0, shifted, W), 5);
  });

  it('rejects parameters it cannot represent', () => {
    expect(() => gaborKernel({ ...base, sf: 0.6 }, H, W)).toThrow(/Nyquist/);
    expect(() => gaborKernel({ ...base, sigma: 0 }, H, W)).toThrow(/sigma/);
    expect(() => gaborKernel({ ...base, x0: NaN }, H, W)).toThrow(/finite/);
  });
});

describe('gaussianWindow', () => {
  it('sums to 1 inside the axis and is cut at its ends', () => {
    const w = gaussianWindow(20, 3, 64);
    expect(w.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const cut = gaussianWindow(1, 3, 64);
    expect(cut.start).toBe(0);
    const mass = cut.weights.reduce((a, b) => a + b, 0);
    expect(mass).toBeGreaterThan(0.55);
    expect(mass).toBeLessThan(0.75);
  });
});
