import { describe, expect, it } from 'vitest';
import { halfToFloat } from '../../../src/io/host_tensor';
import {
  estimateCacheBytes,
  FeatureCache,
  fromBfloat16,
  fromFloat16,
  toBfloat16,
  toFloat16,
} from '../../../src/train/readout/feature_cache';
import { Rng } from '../../../src/util/rng';

describe('16-bit cache encodings', () => {
  it('float16: every finite half value round-trips and decodes as IEEE half (io/host_tensor halfToFloat)', () => {
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = new Float32Array(65536);
    fromFloat16(bits, f);
    const back = new Uint16Array(65536);
    const finite = Float32Array.from(f, (v) => (Number.isFinite(v) ? v : 0));
    toFloat16(finite, back);
    for (let h = 0; h < 65536; h++) {
      const e = (h >> 10) & 0x1f;
      if (e === 31) {
        expect(Number.isNaN(f[h]) || !Number.isFinite(f[h])).toBe(true);
        continue;
      }
      expect(f[h]).toBe(Math.fround(halfToFloat(h)));
      // -0 and +0 both encode; everything else exactly
      if (f[h] !== 0) expect(back[h]).toBe(h);
    }
  });

  it('float16 rounds to the nearest half (ties to even), bfloat16 to the nearest bfloat16', () => {
    const rng = new Rng(1);
    const x = Float32Array.from({ length: 20000 }, (_, i) =>
      i % 3 === 0 ? rng.normal() * 1e-5 : rng.normal() * 10 ** rng.range(-3, 4),
    );
    const h = new Uint16Array(x.length);
    toFloat16(x, h);
    const hv = new Float32Array(x.length);
    fromFloat16(h, hv);
    const neighbor = new Float32Array(2);
    for (let i = 0; i < x.length; i++) {
      // the two neighbouring half values must not be closer
      fromFloat16(Uint16Array.of((h[i] + 1) & 0xffff, (h[i] - 1) & 0xffff), neighbor);
      for (const nb of neighbor)
        if (Number.isFinite(nb)) expect(Math.abs(x[i] - hv[i])).toBeLessThanOrEqual(Math.abs(x[i] - nb));
      if (Math.abs(x[i]) > 1e-4) expect(Math.abs(hv[i] - x[i]) / Math.abs(x[i])).toBeLessThanOrEqual(2 ** -11);
    }
    const b = new Uint16Array(x.length);
    toBfloat16(x, b);
    const bv = new Float32Array(x.length);
    fromBfloat16(b, bv);
    for (let i = 0; i < x.length; i++) expect(Math.abs(bv[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8);
  });

  it('float16 refuses values beyond its range instead of storing infinity', () => {
    expect(() => toFloat16(Float32Array.of(1, 70000), new Uint16Array(2))).toThrow(/float16 range/);
    const h = new Uint16Array(1);
    toFloat16(Float32Array.of(65504), h);
    expect(h[0]).toBe(0x7bff);
  });
});

describe('FeatureCache', () => {
  it('stores maps per slot across blocks, trials sharing a slot share the map', () => {
    for (const precision of ['float32', 'float16', 'bfloat16'] as const) {
      const geometry = { height: 2, width: 3, channels: 4 };
      const slotOfTrial = Int32Array.from([0, 1, 2, 1, -1, 3, 4]);
      const cache = new FeatureCache(geometry, precision, slotOfTrial, 5, 2);
      const maps = Array.from({ length: 5 }, (_, s) => Float32Array.from({ length: 24 }, (_, i) => s * 100 + i * 0.25));
      maps.forEach((m, s) => cache.store(s, m));
      expect(cache.complete).toBe(true);
      expect(cache.bytes).toBe(estimateCacheBytes(5, geometry, precision));
      const scratch = new Float32Array(24);
      expect(Array.from(cache.map(3, scratch))).toEqual(Array.from(cache.map(1, new Float32Array(24))));
      for (const t of [0, 1, 2, 5, 6]) {
        const m = cache.map(t, scratch),
          ref = maps[slotOfTrial[t]];
        for (let i = 0; i < 24; i++)
          expect(Math.abs(m[i] - ref[i])).toBeLessThanOrEqual(
            Math.abs(ref[i]) * (precision === 'bfloat16' ? 2 ** -8 : precision === 'float16' ? 2 ** -11 : 0),
          );
      }
      expect(cache.has(4)).toBe(false);
      expect(() => cache.map(4, scratch)).toThrow(/not in the feature cache/);
    }
  });
});
