/**
 * Built-in stimuli so a freshly loaded model has something to look at: oriented gratings and a Gabor patch,
 * z-scored over the set like the fixtures' inputs. Plain math, no randomness, no files.
 */
export interface ImageSet {
  name: string;
  /** 'generated' (these stimuli), 'file' (a user's .npy) or 'scan' (the loaded scan's test images). */
  source: 'generated' | 'file' | 'scan';
  /** NCHW float32, normalized as the model expects. */
  data: Float32Array;
  shape: [number, number, number, number];
  /** One short label per image. */
  labels: string[];
}

const STIMULI: Array<{ label: string; value: (x: number, y: number) => number }> = [
  { label: 'grating 0°', value: (x) => Math.sin((2 * Math.PI * x) / 12) },
  { label: 'grating 45°', value: (x, y) => Math.sin((2 * Math.PI * (x + y)) / (12 * Math.SQRT2)) },
  { label: 'grating 90°', value: (_x, y) => Math.sin((2 * Math.PI * y) / 12) },
  { label: 'grating 135°', value: (x, y) => Math.sin((2 * Math.PI * (x - y)) / (12 * Math.SQRT2)) },
];

/** Four z-scored gratings of the model's input shape [channels, height, width]. */
export function testImagesFor(inputShape: readonly number[]): ImageSet {
  const [c, h, w] = inputShape as [number, number, number];
  const per = c * h * w;
  const data = new Float32Array(STIMULI.length * per);
  STIMULI.forEach((s, b) => {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) data[b * per + ch * h * w + y * w + x] = s.value(x - w / 2, y - h / 2);
      }
    }
  });
  let mean = 0;
  for (const v of data) mean += v;
  mean /= data.length;
  let sq = 0;
  for (const v of data) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / data.length) || 1;
  for (let i = 0; i < data.length; i++) data[i] = (data[i] - mean) / std;
  return {
    name: 'built-in gratings',
    source: 'generated',
    data,
    shape: [STIMULI.length, c, h, w],
    labels: STIMULI.map((s) => s.label),
  };
}
