/**
 * The O(channels) parts of the fused readout (fused_readout.ts) as WebAssembly SIMD, generated for the map's
 * shape: for every neuron whose 4 bilinear corners lie inside the map,
 *   dots(map, offsets, features, out):   out[n] = (f_n . F00, f_n . F01, f_n . F10, f_n . F11)
 *   accum(map, offsets, weights, grad):  grad_n += w00 F00 + w01 F01 + w10 F10 + w11 F11
 * with F.. the channel vectors at the corners (offsets: float index of the top-left corner's channel 0, or -1
 * to skip the neuron). The scalar per-neuron work (positions, ELU, Poisson, exp/log) stays in JavaScript.
 * Dots accumulate in float32 (4 lanes), which moves results by ~1e-7 relative against the float64 JS loop.
 *
 * Memory layout (one module instance owns its memory, sized once for N neurons): map | features | grad |
 * offsets | weights | dots. The instance's typed-array views are handed out; the memory never grows.
 */
import { encodeModule, FunctionBody, I32, V128 } from './emitter';

export interface ReadoutKernelShape {
  height: number;
  width: number;
  channels: number;
  neurons: number;
}

/**
 * The loop both functions share: for n in [0, count), o = offsets[n]; a neuron with o < 0 (a corner outside the
 * map, handled in JavaScript) is skipped; otherwise p = address of map[o] and `body` runs.
 */
function forEachInteriorNeuron(
  f: FunctionBody,
  at: { map: number; offsets: number; count: number },
  l: { n: number; o: number; p: number },
  body: () => void,
): void {
  f.forLoop(
    l.n,
    () => f.get(at.count),
    1,
    () => {
      f.block();
      f.get(at.offsets).get(l.n).i32(4).mul().add();
      f.code.push(0x28, 2, 0); // i32.load align=4 offset=0
      f.tee(l.o).i32(0).ltS().brIf(0);
      f.get(at.map).get(l.o).i32(4).mul().add().set(l.p);
      body();
      f.end();
    },
  );
}

function emitDots(s: ReadoutKernelShape): FunctionBody {
  const { width: W, channels: C } = s;
  const f = new FunctionBody([I32, I32, I32, I32, I32]); // map, offsets, features, out, n
  const [MAP, OFFS, FEAT, OUT, NN] = [0, 1, 2, 3, 4];
  const n = f.local(I32),
    o = f.local(I32),
    p = f.local(I32),
    fp = f.local(I32);
  const acc = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const fv = f.local(V128);
  const corner = [0, C * 4, W * C * 4, (W * C + C) * 4];
  forEachInteriorNeuron(f, { map: MAP, offsets: OFFS, count: NN }, { n, o, p }, () => {
    f.get(FEAT)
      .get(n)
      .i32(C * 4)
      .mul()
      .add()
      .set(fp);
    for (let i = 0; i < 4; i++) f.v128Zero().set(acc[i]);
    for (let j = 0; j < C / 4; j++) {
      f.get(fp)
        .v128Load(j * 16)
        .set(fv);
      for (let i = 0; i < 4; i++)
        f.get(acc[i])
          .get(p)
          .v128Load(corner[i] + j * 16)
          .get(fv)
          .f32x4Mul()
          .f32x4Add()
          .set(acc[i]);
    }
    // horizontal sums -> out[4n + i]
    for (let i = 0; i < 4; i++) {
      f.get(OUT).get(n).i32(16).mul().add();
      for (let lane = 0; lane < 4; lane++) {
        f.get(acc[i]);
        f.code.push(0xfd, 0x1f, lane); // f32x4.extract_lane
        if (lane > 0) f.f32Add();
      }
      f.f32Store(i * 4);
    }
  });
  return f;
}

function emitAccum(s: ReadoutKernelShape): FunctionBody {
  const { width: W, channels: C } = s;
  const f = new FunctionBody([I32, I32, I32, I32, I32]); // map, offsets, weights, grad, n
  const [MAP, OFFS, WTS, GRAD, NN] = [0, 1, 2, 3, 4];
  const n = f.local(I32),
    o = f.local(I32),
    p = f.local(I32),
    gp = f.local(I32),
    wp = f.local(I32);
  const w = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const corner = [0, C * 4, W * C * 4, (W * C + C) * 4];
  forEachInteriorNeuron(f, { map: MAP, offsets: OFFS, count: NN }, { n, o, p }, () => {
    f.get(GRAD)
      .get(n)
      .i32(C * 4)
      .mul()
      .add()
      .set(gp);
    f.get(WTS).get(n).i32(16).mul().add().set(wp);
    for (let i = 0; i < 4; i++)
      f.get(wp)
        .f32Load(i * 4)
        .f32x4Splat()
        .set(w[i]);
    for (let j = 0; j < C / 4; j++) {
      f.get(gp); // address for the store
      f.get(gp).v128Load(j * 16);
      for (let i = 0; i < 4; i++)
        f.get(p)
          .v128Load(corner[i] + j * 16)
          .get(w[i])
          .f32x4Mul()
          .f32x4Add();
      f.v128Store(j * 16);
    }
  });
  return f;
}

export function readoutKernelBytes(s: ReadoutKernelShape, pages: number): Uint8Array {
  if (s.channels % 4 !== 0) throw new Error(`the SIMD readout needs channels divisible by 4, got ${s.channels}`);
  return encodeModule({
    importMemory: true,
    minPages: pages,
    functions: [
      { name: 'dots', body: emitDots(s) },
      { name: 'accum', body: emitAccum(s) },
    ],
  });
}

/** An instantiated kernel with its memory and views. */
export interface ReadoutKernel {
  shape: ReadoutKernelShape;
  /** (H, W, C) map of the current image: write it here before calling dots/accum. */
  map: Float32Array;
  /** (N, C) readout features (copy in before a batch). */
  features: Float32Array;
  /** (N, C) gradient accumulator. */
  grad: Float32Array;
  /** (N) top-left corner float index, -1: not interior (handled in JS). */
  offsets: Int32Array;
  /** (N, 4) bilinear weights times dL/dv (accum's input). */
  weights: Float32Array;
  /** (N, 4) dot products (dots' output). */
  dots: Float32Array;
  runDots(n: number): void;
  runAccum(n: number): void;
}

const modules = new Map<string, WebAssembly.Module>();

/** True when this engine runs WebAssembly SIMD (every current browser and Node >= 16). */
export function wasmSimdAvailable(): boolean {
  try {
    return (
      typeof WebAssembly === 'object' &&
      WebAssembly.validate(
        readoutKernelBytes({ height: 2, width: 2, channels: 4, neurons: 1 }, 1) as Uint8Array<ArrayBuffer>,
      )
    );
  } catch {
    return false;
  }
}

/**
 * Compiles (synchronously: the module is a few KB; fine in workers and Node, and browsers allow small modules
 * on the main thread) and instantiates a kernel for this shape.
 */
export function createReadoutKernel(s: ReadoutKernelShape): ReadoutKernel {
  const { height: H, width: W, channels: C, neurons: N } = s;
  const sizes = [H * W * C * 4, N * C * 4, N * C * 4, N * 4, N * 16, N * 16];
  const offsets: number[] = [];
  let total = 0;
  for (const z of sizes) {
    offsets.push(total);
    total += Math.ceil(z / 16) * 16;
  }
  const pages = Math.ceil(total / 65536) + 1;
  const key = `${H}x${W}x${C}`;
  let mod = modules.get(key);
  if (!mod) {
    mod = new WebAssembly.Module(readoutKernelBytes(s, 1) as Uint8Array<ArrayBuffer>);
    modules.set(key, mod);
  }
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  const dots = inst.exports.dots as (a: number, b: number, c: number, d: number, e: number) => void;
  const accum = inst.exports.accum as (a: number, b: number, c: number, d: number, e: number) => void;
  const buf = memory.buffer;
  const [oMap, oFeat, oGrad, oOffs, oW, oDots] = offsets;
  return {
    shape: s,
    map: new Float32Array(buf, oMap, H * W * C),
    features: new Float32Array(buf, oFeat, N * C),
    grad: new Float32Array(buf, oGrad, N * C),
    offsets: new Int32Array(buf, oOffs, N),
    weights: new Float32Array(buf, oW, N * 4),
    dots: new Float32Array(buf, oDots, N * 4),
    runDots: (n) => dots(oMap, oOffs, oFeat, oDots, n),
    runAccum: (n) => accum(oMap, oOffs, oW, oGrad, n),
  };
}
