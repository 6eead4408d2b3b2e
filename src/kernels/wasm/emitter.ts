/**
 * A minimal WebAssembly module writer: enough to emit small numeric kernels (i32 address arithmetic, loops,
 * f32 and 128-bit SIMD f32x4 loads/stores/arithmetic) at run time, specialized to the shapes at hand (unrolled
 * loops, constant strides). No compiler toolchain is needed and the kernels run in Node and in browsers
 * (every current engine has WebAssembly SIMD). Encoding per the WebAssembly core spec 2.0 binary format.
 */

/**
 * SIMD opcodes without immediates (FunctionBody.simd), by their names in the WebAssembly SIMD spec; the kernels
 * that need one more add it here.
 */
export const SIMD = {
  I32X4_SPLAT: 0x11,
  F32X4_SPLAT: 0x13,
  I32X4_GT_S: 0x3b,
  F32X4_GT: 0x44,
  V128_AND: 0x4e,
  V128_OR: 0x50,
  V128_BITSELECT: 0x52,
  F32X4_NEAREST: 0x6a,
  I32X4_SHL: 0xab,
  I32X4_ADD: 0xae,
  F32X4_ADD: 0xe4,
  F32X4_SUB: 0xe5,
  F32X4_MUL: 0xe6,
  F32X4_MAX: 0xe9,
  I32X4_TRUNC_SAT_F32X4_S: 0xf8,
} as const;

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128, WebAssembly's encoding of sizes, indices and offsets. */
export function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

/** Instruction sequence of one function body. Locals are declared with `local(type)`. */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly params: ValType[],
    readonly results: ValType[] = [],
  ) {}

  /** A new local; returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }
  i32(v: number): this {
    this.code.push(0x41);
    sleb(v | 0, this.code);
    return this;
  }
  f32(v: number): this {
    this.code.push(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.code.push(...b);
    return this;
  }
  add(): this {
    this.code.push(0x6a);
    return this;
  }
  sub(): this {
    this.code.push(0x6b);
    return this;
  }
  mul(): this {
    this.code.push(0x6c);
    return this;
  }
  ltS(): this {
    this.code.push(0x48);
    return this;
  }
  geS(): this {
    this.code.push(0x4e);
    return this;
  }
  eqz(): this {
    this.code.push(0x45);
    return this;
  }
  f32Load(offset = 0): this {
    this.code.push(0x2a, 2);
    uleb(offset, this.code);
    return this;
  }
  f32Store(offset = 0): this {
    this.code.push(0x38, 2);
    uleb(offset, this.code);
    return this;
  }
  f32Add(): this {
    this.code.push(0x92);
    return this;
  }
  f32Mul(): this {
    this.code.push(0x94);
    return this;
  }
  block(): this {
    this.code.push(0x02, 0x40);
    return this;
  }
  loop(): this {
    this.code.push(0x03, 0x40);
    return this;
  }
  end(): this {
    this.code.push(0x0b);
    return this;
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  /** for (counter = 0; counter < limit; counter += step) body; `limit` pushes the bound (signed compare). */
  forLoop(counter: number, limit: () => void, step: number, body: () => void): this {
    this.i32(0).set(counter);
    this.block().loop();
    this.get(counter);
    limit();
    this.geS().brIf(1);
    body();
    this.get(counter).i32(step).add().set(counter);
    return this.br(0).end().end();
  }
  /** A SIMD instruction without immediates (prefix 0xfd, opcode as u32 LEB128). */
  simd(op: number): this {
    this.code.push(0xfd);
    uleb(op, this.code);
    return this;
  }
  /** v128.load with a constant byte offset; alignment hint 4 bytes (data are float32 arrays). */
  v128Load(offset = 0): this {
    this.simd(0x00);
    this.code.push(2);
    uleb(offset, this.code);
    return this;
  }
  v128Store(offset = 0): this {
    this.simd(0x0b);
    this.code.push(2);
    uleb(offset, this.code);
    return this;
  }
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }

  encode(): number[] {
    const out: number[] = [];
    // locals, run-length grouped by type
    const groups: Array<[number, ValType]> = [];
    for (const t of this.locals) {
      const last = groups.at(-1);
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [n, t] of groups) {
      uleb(n, out);
      out.push(t);
    }
    out.push(...this.code, 0x0b);
    const body: number[] = [];
    uleb(out.length, body);
    return body.concat(out);
  }
}

export interface ModuleSpec {
  /** Import the linear memory as env.memory (shared with another module, e.g. tfjs' wasm heap). */
  importMemory: boolean;
  /** Minimum pages of the imported (or own, exported as "memory") memory. */
  minPages: number;
  functions: Array<{ name: string; body: FunctionBody }>;
}

export function encodeModule(spec: ModuleSpec): Uint8Array {
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, content: number[]): void => {
    bytes.push(id);
    uleb(content.length, bytes);
    bytes.push(...content);
  };
  // types: one per function (simple and small)
  const types: number[] = [];
  uleb(spec.functions.length, types);
  for (const f of spec.functions) {
    types.push(0x60);
    uleb(f.body.params.length, types);
    types.push(...f.body.params);
    uleb(f.body.results.length, types);
    types.push(...f.body.results);
  }
  section(1, types);
  if (spec.importMemory) {
    const imp: number[] = [];
    uleb(1, imp);
    name('env', imp);
    name('memory', imp);
    imp.push(0x02, 0x00);
    uleb(spec.minPages, imp);
    section(2, imp);
  }
  const funcs: number[] = [];
  uleb(spec.functions.length, funcs);
  spec.functions.forEach((_, i) => uleb(i, funcs));
  section(3, funcs);
  if (!spec.importMemory) {
    const mem: number[] = [];
    uleb(1, mem);
    mem.push(0x00);
    uleb(spec.minPages, mem);
    section(5, mem);
  }
  const exp: number[] = [];
  uleb(spec.functions.length + (spec.importMemory ? 0 : 1), exp);
  spec.functions.forEach((f, i) => {
    name(f.name, exp);
    exp.push(0x00);
    uleb(i, exp);
  });
  if (!spec.importMemory) {
    name('memory', exp);
    exp.push(0x02, 0x00);
  }
  section(7, exp);
  const code: number[] = [];
  uleb(spec.functions.length, code);
  for (const f of spec.functions) code.push(...f.body.encode());
  section(10, code);
  return new Uint8Array(bytes);
}
