/**
 * Emits pickle protocol 2 opcodes, the subset torch.save uses for a state_dict. Globals are memoized
 * (first use: GLOBAL + BINPUT, later uses: BINGET), as Python's pickler does.
 */
export class PickleWriter {
  private chunks: number[] = [];
  private memoNext = 0;
  private readonly globals = new Map<string, number>();
  private readonly enc = new TextEncoder();

  private byte(b: number): this {
    this.chunks.push(b & 0xff);
    return this;
  }
  private bytes(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.chunks.push(b[i]);
    return this;
  }
  private u32(v: number): this {
    return this.byte(v)
      .byte(v >>> 8)
      .byte(v >>> 16)
      .byte(v >>> 24);
  }

  proto(p = 2): this {
    return this.byte(0x80).byte(p);
  }
  stop(): this {
    return this.byte(0x2e);
  }
  mark(): this {
    return this.byte(0x28);
  }
  none(): this {
    return this.byte(0x4e);
  }
  bool(v: boolean): this {
    return this.byte(v ? 0x88 : 0x89);
  }
  emptyTuple(): this {
    return this.byte(0x29);
  }
  emptyDict(): this {
    return this.byte(0x7d);
  }
  emptyList(): this {
    return this.byte(0x5d);
  }
  tuple(): this {
    return this.byte(0x74);
  }
  reduce(): this {
    return this.byte(0x52);
  }
  binpersid(): this {
    return this.byte(0x51);
  }
  setitems(): this {
    return this.byte(0x75);
  }
  appends(): this {
    return this.byte(0x65);
  }

  /** A Python int: BININT1/BININT2/BININT when it fits, LONG1 otherwise. */
  int(v: number | bigint): this {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`pickle: ${v} is not an integer`);
      if (v >= 0 && v < 0x100) return this.byte(0x4b).byte(v);
      if (v >= 0 && v < 0x10000)
        return this.byte(0x4d)
          .byte(v)
          .byte(v >>> 8);
      if (v >= -0x80000000 && v <= 0x7fffffff) return this.byte(0x4a).u32(v >>> 0);
      v = BigInt(v);
    }
    // LONG1: little-endian two's complement, shortest that keeps the sign.
    const out: number[] = [];
    let x = v;
    for (;;) {
      const b = Number(x & 0xffn);
      out.push(b);
      x >>= 8n;
      if ((x === 0n && !(b & 0x80)) || (x === -1n && b & 0x80)) break;
    }
    return this.byte(0x8a).byte(out.length).bytes(out);
  }

  str(s: string): this {
    const b = this.enc.encode(s);
    return this.byte(0x58).u32(b.length).bytes(b);
  }

  /** A tuple of ints (sizes, strides): TUPLE1/2/3 for short ones as Python does. */
  intTuple(v: readonly number[]): this {
    if (v.length === 0) return this.emptyTuple();
    if (v.length > 3) this.mark();
    for (const x of v) this.int(x);
    return this.byte(v.length === 1 ? 0x85 : v.length === 2 ? 0x86 : v.length === 3 ? 0x87 : 0x74);
  }

  global(module: string, name: string): this {
    const q = `${module}\n${name}\n`;
    const m = this.globals.get(q);
    if (m !== undefined) return this.get(m);
    this.byte(0x63).bytes(this.enc.encode(q));
    this.globals.set(q, this.memoNext);
    return this.put();
  }

  /** BINPUT / LONG_BINPUT of the top of the stack under the next memo index. */
  put(): this {
    const i = this.memoNext++;
    return i < 0x100 ? this.byte(0x71).byte(i) : this.byte(0x72).u32(i);
  }

  get(i: number): this {
    return i < 0x100 ? this.byte(0x68).byte(i) : this.byte(0x6a).u32(i);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}
