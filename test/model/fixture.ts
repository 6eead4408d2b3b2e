/** Shared by the model tests: the sensorium-sota fixture (test/fixtures/sensorium-sota) and its tolerances. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { HostTensor, StateDict } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { SOTA } from '../fixtures/paths';

export const FIXTURE = `${SOTA}/`;

export function npy(name: string): HostTensor<'float32'> {
  const t = parseNumericNpy(new Uint8Array(readFileSync(FIXTURE + name)), name);
  if (t.dtype !== 'float32') throw new Error(`${name}: expected float32`);
  return t as HostTensor<'float32'>;
}

export async function fixtureStateDict(): Promise<StateDict> {
  return readCheckpoint(new Uint8Array(readFileSync(FIXTURE + 'model.pth')), 'model.pth');
}

export function fixtureLoss(): { loss: number; loss_float64: number } {
  return JSON.parse(readFileSync(FIXTURE + 'loss.json', 'utf8')) as { loss: number; loss_float64: number };
}

/**
 * Asserts |a - b| <= atol + rtol * |b| elementwise (the fixture README's tolerances) and returns the largest
 * absolute error, so tests can print it.
 */
export function expectClose(
  name: string,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  atol: number,
  rtol: number,
): number {
  expect(a.length, `${name}: length`).toBe(b.length);
  let worst = 0;
  let worstAt = -1;
  let maxAbs = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    const r = Number.isNaN(d) ? Infinity : d / (atol + rtol * Math.abs(b[i]));
    if (r > worst) {
      worst = r;
      worstAt = i;
    }
  }
  expect(
    worst,
    `${name}: worst element ${worstAt}: got ${a[worstAt]}, expected ${b[worstAt]} (atol ${atol}, rtol ${rtol})`,
  ).toBeLessThanOrEqual(1);
  return maxAbs;
}

/**
 * The README's gradient tolerance: |a - b| <= 1e-4 * max|b| + 1e-4 * |b| (+ `floor`, for gradients that are zero
 * up to round-off, e.g. a conv bias followed by batch-statistics BatchNorm).
 */
export function expectGradClose(name: string, a: ArrayLike<number>, b: ArrayLike<number>, floor = 0): number {
  let mx = 0;
  for (let i = 0; i < b.length; i++) mx = Math.max(mx, Math.abs(b[i]));
  return expectClose(name, a, b, 1e-4 * mx + floor, 1e-4);
}
