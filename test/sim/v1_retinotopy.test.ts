import { describe, expect, it } from 'vitest';
import { degreesToPixel, makeRetinotopy, pixelToDegrees, smallestSingularValue } from '../../src/sim/retinotopy';
import { Rng } from '../../src/util/rng';

const center: [number, number] = [300, -200];
const maps = Array.from({ length: 12 }, (_, seed) =>
  makeRetinotopy(new Rng(1000 + seed), { corticalCenterUm: center }),
);
/** Points over a 2 x 1.5 mm cortical field around the centre. */
const grid: [number, number][] = [];
for (let i = 0; i <= 20; i++)
  for (let j = 0; j <= 15; j++) grid.push([center[0] - 1000 + 100 * i, center[1] - 750 + 100 * j]);

const det = ([a, b, c, d]: number[]): number => a * d - b * c;
const opNorm = ([a, b, c, d]: [number, number, number, number]): number =>
  (Math.hypot(a + d, c - b) + Math.hypot(a - d, c + b)) / 2;

describe('retinotopic map', () => {
  it('is reproducible by seed and differs between animals', () => {
    const again = makeRetinotopy(new Rng(1000), { corticalCenterUm: center });
    expect(again.params).toEqual(maps[0].params);
    expect(maps[1].params.linear).not.toEqual(maps[0].params.linear);
  });

  it('draws both mirror orientations across animals, and a plausible magnification', () => {
    const signs = new Set(maps.map((m) => m.orientationSign));
    expect(signs.size).toBe(2);
    for (const m of maps) {
      const umPerDeg = 1 / Math.sqrt(Math.abs(det(m.params.linear)));
      expect(umPerDeg).toBeGreaterThan(10);
      expect(umPerDeg).toBeLessThan(40);
    }
  });

  it('has a Jacobian of one sign everywhere (no folds), matching finite differences', () => {
    for (const m of maps) {
      for (const [x, y] of grid) {
        const jac = m.jacobian(x, y);
        expect(Math.sign(det(jac))).toBe(m.orientationSign);
        const h = 1e-3;
        const [ax1, ex1] = m.toVisual(x + h, y);
        const [ax0, ex0] = m.toVisual(x - h, y);
        const [ay1, ey1] = m.toVisual(x, y + h);
        const [ay0, ey0] = m.toVisual(x, y - h);
        const fd = [(ax1 - ax0) / (2 * h), (ay1 - ay0) / (2 * h), (ex1 - ex0) / (2 * h), (ey1 - ey0) / (2 * h)];
        for (let k = 0; k < 4; k++) expect(Math.abs(fd[k] - jac[k])).toBeLessThan(1e-8);
      }
    }
  });

  it('is smooth and bi-Lipschitz: nearby cortical points look at nearby places, distant ones at distant places', () => {
    const rng = new Rng(5);
    for (const m of maps) {
      const lo = smallestSingularValue(m.params.linear) * 0.5; // warp bound is half of it
      const hi = opNorm(m.params.linear) + smallestSingularValue(m.params.linear) * 0.5;
      for (let t = 0; t < 300; t++) {
        const x = rng.range(-1000, 1000) + center[0];
        const y = rng.range(-750, 750) + center[1];
        const step = rng.logUniform(1, 1000);
        const ang = rng.range(0, 2 * Math.PI);
        const [a0, e0] = m.toVisual(x, y);
        const [a1, e1] = m.toVisual(x + step * Math.cos(ang), y + step * Math.sin(ang));
        const d = Math.hypot(a1 - a0, e1 - e0);
        expect(d).toBeGreaterThanOrEqual(lo * step * (1 - 1e-9));
        expect(d).toBeLessThanOrEqual(hi * step * (1 + 1e-9));
      }
      // the warp bends the map visibly: the Jacobian varies over the field by more than 5 %
      const dets = grid.map(([x, y]) => Math.abs(det(m.jacobian(x, y))));
      expect(Math.max(...dets) / Math.min(...dets)).toBeGreaterThan(1.05);
    }
  });

  it('inverts: toCortex(toVisual(u)) = u', () => {
    for (const m of maps) {
      for (const [x, y] of grid) {
        const [az, el] = m.toVisual(x, y);
        const [bx, by] = m.toCortex(az, el);
        expect(Math.hypot(bx - x, by - y)).toBeLessThan(1e-6);
      }
    }
  });

  it('converts degrees to pixels and back (azimuth right, elevation up)', () => {
    const [x, y] = degreesToPixel(10, 5, 36, 64, 2);
    expect(x).toBeCloseTo(31.5 + 5, 12);
    expect(y).toBeCloseTo(17.5 - 2.5, 12);
    const [az, el] = pixelToDegrees(x, y, 36, 64, 2);
    expect(az).toBeCloseTo(10, 12);
    expect(el).toBeCloseTo(5, 12);
  });
});
