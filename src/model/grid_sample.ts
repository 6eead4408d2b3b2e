/**
 * Bilinear sampling of a feature map at one point per neuron, exactly as
 * torch.nn.functional.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=True):
 * x = -1 is column 0 and x = +1 column W-1 (likewise y for rows); corners outside the map count as zero.
 *
 * tfjs has no grid_sample. The forward pass gathers the four corner pixels; the backward pass is written by
 * hand (tf.customGrad) because tfjs' gradient of gather needs UnsortedSegmentSum (missing on wasm) and fails
 * when the indices come from inside the tape. Gradients: to the feature map by scattering (ScatterNd, which sums
 * duplicate indices), to the grid by the derivative of the interpolation weights, scaled by (W-1)/2 and (H-1)/2.
 */
import * as tf from '@tensorflow/tfjs';

interface Corners {
  /** Row indices into the (B*H*W or H*W, C) flattened map, one (N) or (B, N) int32 tensor per corner. */
  index: tf.Tensor[];
  /** 1 where the corner lies inside the map, else 0 (float32, same shape as index). */
  valid: tf.Tensor[];
  /** Bilinear weight with `valid` applied (float32). */
  weight: tf.Tensor[];
  fx: tf.Tensor;
  fy: tf.Tensor;
}

/** Corner order: (x0, y0), (x0+1, y0), (x0, y0+1), (x0+1, y0+1). */
function corners(grid: tf.Tensor, H: number, W: number, B: number): Corners {
  const perImage = grid.rank === 3;
  const gx = perImage ? grid.slice([0, 0, 0], [-1, -1, 1]).squeeze([2]) : grid.slice([0, 0], [-1, 1]).squeeze([1]);
  const gy = perImage ? grid.slice([0, 0, 1], [-1, -1, 1]).squeeze([2]) : grid.slice([0, 1], [-1, 1]).squeeze([1]);
  // Same arithmetic order as PyTorch's grid_sampler_unnormalize (align_corners): ((g + 1) / 2) * (size - 1).
  const ix = gx
    .add(1)
    .div(2)
    .mul(W - 1);
  const iy = gy
    .add(1)
    .div(2)
    .mul(H - 1);
  const x0 = ix.floor();
  const y0 = iy.floor();
  const fx = ix.sub(x0);
  const fy = iy.sub(y0);
  const x1 = x0.add(1);
  const y1 = y0.add(1);
  const ones = tf.onesLike(fx);
  const wx = [ones.sub(fx), fx];
  const wy = [ones.sub(fy), fy];
  const xs = [x0, x1];
  const ys = [y0, y1];
  let offset: tf.Tensor | null = null;
  if (perImage) {
    const N = grid.shape[1]!;
    offset = tf
      .range(0, B, 1, 'float32')
      .mul(H * W)
      .reshape([B, 1])
      .tile([1, N]);
  }
  const index: tf.Tensor[] = [];
  const valid: tf.Tensor[] = [];
  const weight: tf.Tensor[] = [];
  for (const [j, i] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ]) {
    const x = xs[j];
    const y = ys[i];
    const inside = tf
      .logicalAnd(
        tf.logicalAnd(x.greaterEqual(0), x.lessEqual(W - 1)),
        tf.logicalAnd(y.greaterEqual(0), y.lessEqual(H - 1)),
      )
      .cast('float32');
    // Float arithmetic is exact here (indices < 2^24); cast once at the end.
    let idx = y
      .clipByValue(0, H - 1)
      .mul(W)
      .add(x.clipByValue(0, W - 1));
    if (offset) idx = idx.add(offset);
    index.push(idx.cast('int32'));
    valid.push(inside);
    weight.push(wx[j].mul(wy[i]).mul(inside));
  }
  return { index, valid, weight, fx, fy };
}

export type GridSampleMode = 'auto' | 'ops' | 'host';
let mode: GridSampleMode = 'auto';

/**
 * 'ops': tfjs ops (gather / scatterND), for backends whose data lives on a GPU. 'host': plain loops over the
 * tensors' host data, for cpu and wasm whose data is in host memory anyway and whose gather / broadcasting kernels
 * are slow (cpu) or per element (wasm). 'auto' (default) picks host on cpu and wasm.
 */
export function setGridSampleMode(m: GridSampleMode): void {
  mode = m;
}

function hostPathPreferred(): boolean {
  if (mode !== 'auto') return mode === 'host';
  const b = tf.getBackend();
  return b === 'cpu' || b === 'wasm';
}

/**
 * featureMap (B, H, W, C); grid (N, 2) shared by all images or (B, N, 2) per image, (x, y) in [-1, 1]
 * -> (B, N, C). Differentiable with respect to both arguments.
 */
export function gridSample(featureMap: tf.Tensor4D, grid: tf.Tensor2D | tf.Tensor3D): tf.Tensor3D {
  return hostPathPreferred() ? gridSampleHost(featureMap, grid) : gridSampleOps(featureMap, grid);
}

/** gridSample with tfjs ops only (works on every backend). */
export function gridSampleOps(featureMap: tf.Tensor4D, grid: tf.Tensor2D | tf.Tensor3D): tf.Tensor3D {
  const [B, H, W, C] = featureMap.shape;
  const perImage = grid.rank === 3;
  const N = perImage ? grid.shape[1] : grid.shape[0];
  if (grid.shape[grid.rank - 1] !== 2 || (perImage && grid.shape[0] !== B)) {
    throw new Error(`gridSample: grid shape [${grid.shape}] does not fit a feature map [${featureMap.shape}]`);
  }
  const gather = (flat: tf.Tensor, idx: tf.Tensor): tf.Tensor =>
    perImage
      ? tf.gather(flat, idx.reshape([B * N])).reshape([B, N, C]) // flat: (B*H*W, C)
      : tf.gather(flat, idx, 1); // flat: (B, H*W, C) -> (B, N, C)
  const expandW = (w: tf.Tensor): tf.Tensor => (perImage ? w.expandDims(2) : w.reshape([1, N, 1]));

  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [fmIn, gIn] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const cs = corners(gIn, H, W, B);
    const flat = perImage ? fmIn.reshape([B * H * W, C]) : fmIn.reshape([B, H * W, C]);
    let out: tf.Tensor = tf.zeros([B, N, C]);
    for (let k = 0; k < 4; k++) out = out.add(gather(flat, cs.index[k]).mul(expandW(cs.weight[k])));
    save([fmIn, ...cs.index, ...cs.valid, ...cs.weight, cs.fx, cs.fy]);
    return {
      value: out as tf.Tensor3D,
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const fm = saved[0];
        const index = saved.slice(1, 5);
        const valid = saved.slice(5, 9);
        const weight = saved.slice(9, 13);
        const [fx, fy] = saved.slice(13, 15);
        return tf.tidy(() => {
          // dL/dfeatureMap: scatter dy * weight into the four corner pixels (duplicates sum).
          const rows = index.map((idx) =>
            perImage
              ? idx.reshape([B * N])
              : idx
                  .reshape([1, N])
                  .add(
                    tf
                      .range(0, B, 1, 'int32')
                      .mul(tf.scalar(H * W, 'int32'))
                      .reshape([B, 1]),
                  )
                  .reshape([B * N]),
          );
          const updates = weight.map((w) => dy.mul(expandW(w)).reshape([B * N, C]));
          const dFm = tf
            .scatterND(tf.concat(rows).reshape([4 * B * N, 1]), tf.concat(updates), [B * H * W, C])
            .reshape([B, H, W, C]);
          // dL/dgrid: d_k = valid_k * <dy, corner value_k>; the interpolated value is
          // (1-fy)((1-fx) v00 + fx v10) + fy((1-fx) v01 + fx v11) in (x, y) corner notation.
          const flatFm = perImage ? fm.reshape([B * H * W, C]) : fm.reshape([B, H * W, C]);
          const d = index.map((idx, k) => {
            const dk = gather(flatFm, idx).mul(dy).sum(2); // (B, N)
            return dk.mul(perImage ? valid[k] : valid[k].reshape([1, N]));
          });
          const fxB = perImage ? fx : fx.reshape([1, N]);
          const fyB = perImage ? fy : fy.reshape([1, N]);
          const oneMinusFx = tf.onesLike(fxB).sub(fxB);
          const oneMinusFy = tf.onesLike(fyB).sub(fyB);
          const dIx = d[1].sub(d[0]).mul(oneMinusFy).add(d[3].sub(d[2]).mul(fyB));
          const dIy = d[2].sub(d[0]).mul(oneMinusFx).add(d[3].sub(d[1]).mul(fxB));
          let dGrid: tf.Tensor = tf.stack([dIx.mul((W - 1) / 2), dIy.mul((H - 1) / 2)], 2); // (B, N, 2)
          if (!perImage) dGrid = dGrid.sum(0);
          return [dFm, dGrid];
        });
      },
    };
  });
  return f(featureMap, grid) as tf.Tensor3D;
}

/** Bilinear corner offsets and weights of one position (float64 arithmetic on the float32 inputs). */
function hostCorners(
  gx: number,
  gy: number,
  H: number,
  W: number,
  idx: Int32Array,
  w: Float64Array,
): { fx: number; fy: number } {
  const ix = ((gx + 1) / 2) * (W - 1);
  const iy = ((gy + 1) / 2) * (H - 1);
  const x0 = Math.floor(ix);
  const y0 = Math.floor(iy);
  const fx = ix - x0;
  const fy = iy - y0;
  for (let k = 0; k < 4; k++) {
    const x = x0 + (k & 1);
    const y = y0 + (k >> 1);
    const inside = x >= 0 && x < W && y >= 0 && y < H;
    idx[k] = inside ? y * W + x : -1;
    w[k] = inside ? (k & 1 ? fx : 1 - fx) * (k >> 1 ? fy : 1 - fy) : 0;
  }
  return { fx, fy };
}

/** gridSample computed in loops over host data (see setGridSampleMode), with the same hand-written gradients. */
export function gridSampleHost(featureMap: tf.Tensor4D, grid: tf.Tensor2D | tf.Tensor3D): tf.Tensor3D {
  const [B, H, W, C] = featureMap.shape;
  const perImage = grid.rank === 3;
  const N = perImage ? grid.shape[1]! : grid.shape[0];
  if (grid.shape[grid.rank - 1] !== 2 || (perImage && grid.shape[0] !== B)) {
    throw new Error(`gridSample: grid shape [${grid.shape}] does not fit a feature map [${featureMap.shape}]`);
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [fmIn, gIn] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const fm = fmIn.dataSync() as Float32Array;
    const g = gIn.dataSync() as Float32Array;
    const out = new Float32Array(B * N * C);
    const idx = new Int32Array(4);
    const w = new Float64Array(4);
    for (let b = 0; b < B; b++) {
      const img = b * H * W * C;
      for (let n = 0; n < N; n++) {
        const gi = perImage ? (b * N + n) * 2 : n * 2;
        hostCorners(g[gi], g[gi + 1], H, W, idx, w);
        const o = (b * N + n) * C;
        for (let k = 0; k < 4; k++) {
          if (idx[k] < 0 || w[k] === 0) continue;
          const src = img + idx[k] * C;
          const wk = w[k];
          for (let c = 0; c < C; c++) out[o + c] += wk * fm[src + c];
        }
      }
    }
    save([fmIn, gIn]);
    return {
      value: tf.tensor3d(out, [B, N, C]),
      gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
        const fmS = saved[0].dataSync() as Float32Array;
        const gS = saved[1].dataSync() as Float32Array;
        const d = dy.dataSync() as Float32Array;
        const dFm = new Float32Array(B * H * W * C);
        const dG = new Float32Array(perImage ? B * N * 2 : N * 2);
        const dk = new Float64Array(4);
        for (let b = 0; b < B; b++) {
          const img = b * H * W * C;
          for (let n = 0; n < N; n++) {
            const gi = perImage ? (b * N + n) * 2 : n * 2;
            const { fx, fy } = hostCorners(gS[gi], gS[gi + 1], H, W, idx, w);
            const o = (b * N + n) * C;
            for (let k = 0; k < 4; k++) {
              dk[k] = 0;
              if (idx[k] < 0) continue;
              const at = img + idx[k] * C;
              const wk = w[k];
              let s = 0;
              for (let c = 0; c < C; c++) {
                const dyc = d[o + c];
                s += dyc * fmS[at + c];
                if (wk !== 0) dFm[at + c] += wk * dyc;
              }
              dk[k] = s;
            }
            // value = (1-fy)((1-fx) v0 + fx v1) + fy((1-fx) v2 + fx v3), corners k = (x offset) + 2 (y offset)
            const dIx = (dk[1] - dk[0]) * (1 - fy) + (dk[3] - dk[2]) * fy;
            const dIy = (dk[2] - dk[0]) * (1 - fx) + (dk[3] - dk[1]) * fx;
            dG[gi] += dIx * ((W - 1) / 2);
            dG[gi + 1] += dIy * ((H - 1) / 2);
          }
        }
        return [tf.tensor4d(dFm, [B, H, W, C]), perImage ? tf.tensor3d(dG, [B, N, 2]) : tf.tensor2d(dG, [N, 2])];
      },
    };
  });
  return f(featureMap, grid) as tf.Tensor3D;
}
