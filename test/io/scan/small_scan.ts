/**
 * A tiny FileTree scan built in memory with writeNpy, in the layout of fixtures/sim-scan/README.md, for
 * validation tests: 12 trials (6 train, 2 validation, 4 test = 2 images shown twice), 5 neurons, 1x4x6 images.
 * Tests break one file at a time and check the loader's error names it.
 */
import type { HostArray } from '../../../src/io/host_tensor';
import { writeNpy } from '../../../src/io/npy';

export const T = 12,
  N = 5,
  H = 4,
  W = 6;
export const TIERS = [
  'train',
  'train',
  'test',
  'train',
  'validation',
  'test',
  'train',
  'train',
  'test',
  'validation',
  'train',
  'test',
];
export const IMAGE_IDS = [10, 11, 90, 12, 20, 91, 13, 14, 90, 21, 15, 91];

export function responseRow(i: number): Float32Array {
  return Float32Array.from({ length: N }, (_, j) => ((i * 7 + j * 3) % 11) / (j + 1));
}

export function imageOf(i: number): Uint8Array {
  return Uint8Array.from({ length: H * W }, (_, p) => (i * 37 + p * 11) % 256);
}

const f32 = (data: number[] | Float32Array, shape: number[]): HostArray => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(data),
});
const i64 = (data: number[]): HostArray => ({
  dtype: 'int64',
  shape: [data.length],
  data: BigInt64Array.from(data.map(BigInt)),
});
const str = (data: string[]): HostArray => ({ dtype: 'string', shape: [data.length], data });

/** Path -> bytes of a valid scan under `root/` ('' for none). */
export function smallScanFiles(root = 'static-small/', opts: { responseStd?: number[] } = {}): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const put = (p: string, a: HostArray) => files.set(root + p, writeNpy(a));
  files.set(`${root}config.json`, new TextEncoder().encode('{"links": {}}'));
  for (let i = 0; i < T; i++) {
    put(`data/images/${i}.npy`, { dtype: 'uint8', shape: [1, H, W], data: imageOf(i) });
    put(`data/responses/${i}.npy`, f32(responseRow(i), [N]));
  }
  put('meta/trials/tiers.npy', str(TIERS));
  put('meta/trials/frame_image_id.npy', i64(IMAGE_IDS));
  put('meta/trials/frame_image_class.npy', str(TIERS.map(() => 'natural')));
  put('meta/trials/trial_idx.npy', i64([...Array(T).keys()].reverse()));
  put('meta/neurons/unit_ids.npy', i64([3, 5, 8, 13, 21]));
  put('meta/neurons/animal_ids.npy', i64(Array(N).fill(777)));
  put('meta/neurons/sessions.npy', i64(Array(N).fill(4)));
  put('meta/neurons/scan_idx.npy', i64(Array(N).fill(2)));
  put('meta/neurons/area.npy', str(Array(N).fill('V1')));
  put('meta/neurons/layer.npy', str(Array(N).fill('L2/3')));
  put('meta/neurons/cell_motor_coordinates.npy', {
    dtype: 'float64',
    shape: [N, 3],
    data: Float64Array.from({ length: 3 * N }, (_, k) => k * 10.5),
  });
  const std = opts.responseStd ?? [1, 2, 0.5, 1.5, 3];
  for (const src of ['all', 'stimulus_frame']) {
    put(`meta/statistics/images/${src}/mean.npy`, f32([120], []));
    put(`meta/statistics/images/${src}/std.npy`, f32([60], []));
    put(`meta/statistics/images/${src}/min.npy`, f32([0], []));
    put(`meta/statistics/images/${src}/max.npy`, f32([255], []));
    put(`meta/statistics/images/${src}/median.npy`, f32([118], []));
    put(`meta/statistics/responses/${src}/mean.npy`, f32([1, 1, 1, 1, 1], [N]));
    put(`meta/statistics/responses/${src}/std.npy`, f32(std, [N]));
    put(`meta/statistics/responses/${src}/min.npy`, f32([0, 0, 0, 0, 0], [N]));
    put(`meta/statistics/responses/${src}/max.npy`, f32([9, 9, 9, 9, 9], [N]));
    put(`meta/statistics/responses/${src}/median.npy`, f32([1, 1, 1, 1, 1], [N]));
  }
  return files;
}

export { f32, i64, str };
