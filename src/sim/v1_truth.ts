/**
 * The ground truth of a simulated V1 scan, written beside the scan (outside its FileTree layout) as the
 * sim-scan fixture's `static-sim-a-truth/` is: what a trained model should recover, in files any tool reads.
 *
 * `<name>-truth/`
 *   true_rates.npy        float32 (T, N)  expected value of every stored response (stored units, file order)
 *   response_scale.npy    float32 (N,)    scale[n] of the noise model (stored = counts / scale)
 *   rate_factor.npy       float32 (N,)    q[n]: counts per trial = Poisson(gain * q[n] * rate)
 *   oracle_expected.npy   float32 (N,)    expected jackknife oracle (what the gain was set by)
 *   oracle_jackknife.npy  float32 (N,)    jackknife oracle of the stored test responses
 *   true_rf_px.npy        float32 (N, 2)  receptive-field centre, image pixels (x = column, y = row)
 *   true_grid.npy         float32 (N, 2)  the same centre as a readout position: grid_sample convention,
 *                                         align_corners=True, on the core's output map (see truth.json)
 *   cell_types.npy        int64 (N,)      cell type 0..K-1 of each neuron (cell-type populations only; the same as
 *                                         the scan's meta/neurons/cell_types.npy)
 *   neurons.json                          every neuron's parameters, the retinotopic map, the options (and the
 *                                         K types' shared tuning, `cellTypes`, for a cell-type population)
 *   truth.json                            seeds, gain, geometry, oracle summary
 */
import type { HostArray } from '../io/host_tensor';
import { writeNpy } from '../io/npy';
import type { ZipInput } from '../io/zip_archive';
import { groupByImage, oracleJackknife } from '../metrics';
import type { V1Scan } from './v1_scan';

export interface FeatureGeometry {
  /** Height and width of the core's output feature map; its pixels are centred in the image. */
  featureShape: [number, number];
}

/**
 * A pixel position as a readout grid position: the feature map of a core whose first convolution is
 * valid (unpadded) and later ones same-padded covers the image minus a border of (H - Hf) / 2 on each
 * side; grid = -1 + 2 * (pixel - border) / (Hf - 1) as grid_sample with align_corners=True reads it.
 */
export function pixelToGrid(
  x: number,
  y: number,
  imageShape: [number, number, number],
  featureShape: [number, number],
): [number, number] {
  const [, H, W] = imageShape;
  const [hf, wf] = featureShape;
  const bx = (W - wf) / 2;
  const by = (H - hf) / 2;
  return [-1 + (2 * (x - bx)) / (wf - 1), -1 + (2 * (y - by)) / (hf - 1)];
}

/** Inverse of pixelToGrid: a readout grid position (x, y) as image pixels (x = column, y = row). */
export function gridToPixel(
  gx: number,
  gy: number,
  imageShape: [number, number, number],
  featureShape: [number, number],
): [number, number] {
  const [, H, W] = imageShape;
  const [hf, wf] = featureShape;
  return [(W - wf) / 2 + ((gx + 1) / 2) * (wf - 1), (H - hf) / 2 + ((gy + 1) / 2) * (hf - 1)];
}

/** Jackknife oracle of the stored test-tier responses. */
export function scanOracle(v: V1Scan): Float64Array {
  const { scan } = v;
  const N = scan.neurons;
  const test = scan.tiers.flatMap((t, i) => (t === 'test' ? [i] : []));
  const r = new Float32Array(test.length * N);
  test.forEach((t, k) => r.set(scan.responses.subarray(t * N, (t + 1) * N), k * N));
  return oracleJackknife(r, N, groupByImage(test.map((t) => scan.frameImageId[t])));
}

/**
 * The truth folder's files, paths under `<dir>/` (default `<scan name>-truth/`). Default feature map: 28 x 56 (a 9x9
 * valid first layer on 36 x 64).
 */
export function v1TruthFiles(
  v: V1Scan,
  geometry: FeatureGeometry = { featureShape: [28, 56] },
  dir = `${v.scan.name}-truth`,
): ZipInput[] {
  const { scan, truth } = v;
  const N = scan.neurons;
  const T = scan.tiers.length;
  const root = `${dir}/`;
  const f32 = (shape: number[], data: ArrayLike<number>): HostArray => ({
    dtype: 'float32',
    shape,
    data: Float32Array.from(data),
  });
  const neurons = truth.population.neurons;
  const rfPx = new Float32Array(N * 2);
  const grid = new Float32Array(N * 2);
  neurons.forEach((nr, n) => {
    rfPx[2 * n] = nr.rf.x0;
    rfPx[2 * n + 1] = nr.rf.y0;
    const [gx, gy] = pixelToGrid(nr.rf.x0, nr.rf.y0, scan.imageShape, geometry.featureShape);
    grid[2 * n] = gx;
    grid[2 * n + 1] = gy;
  });
  const oracle = scanOracle(v);
  const sorted = Array.from(oracle)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.round(p * (sorted.length - 1))];
  const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o, null, 1));
  const pop = truth.population;
  return [
    { name: root, data: new Uint8Array(0) },
    { name: `${root}true_rates.npy`, data: writeNpy(f32([T, N], truth.expectedResponses)) },
    { name: `${root}response_scale.npy`, data: writeNpy(f32([N], truth.responseScale)) },
    { name: `${root}rate_factor.npy`, data: writeNpy(f32([N], truth.rateFactor)) },
    { name: `${root}oracle_expected.npy`, data: writeNpy(f32([N], truth.expectedOracle)) },
    { name: `${root}oracle_jackknife.npy`, data: writeNpy(f32([N], oracle)) },
    { name: `${root}true_rf_px.npy`, data: writeNpy(f32([N, 2], rfPx)) },
    { name: `${root}true_grid.npy`, data: writeNpy(f32([N, 2], grid)) },
    ...(pop.cellTypes
      ? [
          {
            name: `${root}cell_types.npy`,
            data: writeNpy({
              dtype: 'int64',
              shape: [N],
              data: BigInt64Array.from(neurons, (nr) => BigInt(nr.cellType!)),
            }),
          },
        ]
      : []),
    {
      name: `${root}neurons.json`,
      data: json({
        about:
          'simulated V1 population (src/sim/v1_population.ts); rf in image pixels, see src/sim/gabor.ts for the frame',
        degPerPixel: pop.degPerPixel,
        imageShape: pop.imageShape,
        retinotopy: pop.retinotopy?.params,
        ...(pop.cellTypes && { cellTypes: pop.cellTypes }),
        neurons,
      }),
    },
    {
      name: `${root}truth.json`,
      data: json({
        scan: scan.name,
        animalSeed: pop.animalSeed,
        scanSeed: truth.scanSeed,
        animalId: scan.animalId,
        neurons: N,
        trials: T,
        gain: truth.gain,
        degPerPixel: pop.degPerPixel,
        gridGeometry: { imageShape: scan.imageShape, featureShape: geometry.featureShape, alignCorners: true },
        simpleCells: neurons.filter((n) => n.type === 'simple').length,
        ...(pop.cellTypes && {
          cellTypes: {
            K: pop.cellTypes.length,
            counts: pop.cellTypes.map((_, k) => neurons.filter((n) => n.cellType === k).length),
            orientationDeg: pop.cellTypes.map((t) => (t.rf.orientation * 180) / Math.PI),
            sfCyclesPerDeg: pop.cellTypes.map((t) => t.rf.sf / pop.degPerPixel),
            kind: pop.cellTypes.map((t) => t.type),
          },
        }),
        oracleJackknife: {
          mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
          median: q(0.5),
          p05: q(0.05),
          p25: q(0.25),
          p75: q(0.75),
          p95: q(0.95),
        },
      }),
    },
  ];
}
