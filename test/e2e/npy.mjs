/** Minimal little-endian float32 C-order .npy reader for comparing the page's numbers with the fixtures. */
import { readFileSync } from 'node:fs';

export function readFloat32Npy(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
    throw new Error(`${path}: expected little-endian float32 in C order: ${header}`);
  const shape = header
    .match(/'shape':\s*\(([^)]*)\)/)[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const offset = start + headerLen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + buf.length));
  return { shape, data };
}

/** Largest violation of |a - b| <= atol + rtol * |b|; returns {ok, worst, index, a, b}. */
export function compareClose(actual, expected, atol, rtol) {
  if (actual.length !== expected.length) return { ok: false, message: `length ${actual.length} != ${expected.length}` };
  let worst = -Infinity;
  let index = -1;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
    const excess = Number.isNaN(d) ? Infinity : d - (atol + rtol * Math.abs(expected[i]));
    if (excess > worst) {
      worst = excess;
      index = i;
    }
  }
  return { ok: worst <= 0, maxAbs, index, actual: actual[index], expected: expected[index] };
}
