/**
 * NumPy .npy reader and writer (format versions 1.0, 2.0, 3.0). Every byte is treated as hostile:
 * the header is parsed with a tiny literal parser (never eval), sizes are checked against the buffer,
 * and object arrays (pickles) are refused.
 */
import { type HostArray, type HostTensor, InputError, type NumericDType, numel } from './host_tensor';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER = 1 << 20;
/** Largest array we accept from one .npy (bytes); a Sensorium image file is ~37 KB, a response file ~30 KB. */
export const MAX_NPY_BYTES = 2 ** 31 - 1;

interface DTypeInfo {
  dtype: NumericDType | 'string';
  size: number;
  little: boolean;
  charWidth?: number;
  unicode?: boolean;
}

function parseDescr(descr: string, file: string): DTypeInfo {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw new InputError(file, `unsupported .npy dtype '${descr}'`);
  const [, order, kind, sizeStr] = m;
  const size = sizeStr ? Number(sizeStr) : 0;
  const little = order !== '>';
  const table: Record<string, NumericDType> = {
    b1: 'bool',
    u1: 'uint8',
    i1: 'int8',
    i2: 'int16',
    u2: 'uint16',
    i4: 'int32',
    u4: 'uint32',
    i8: 'int64',
    u8: 'uint64',
    f2: 'float16',
    f4: 'float32',
    f8: 'float64',
  };
  if (kind === 'U') return { dtype: 'string', size: 4 * size, little, charWidth: size, unicode: true };
  if (kind === 'S') return { dtype: 'string', size, little, charWidth: size, unicode: false };
  const d = table[kind + size];
  if (!d) {
    if (kind === 'O') throw new InputError(file, '.npy holds Python objects (pickle); refused for safety');
    throw new InputError(file, `unsupported .npy dtype '${descr}'`);
  }
  return { dtype: d, size, little };
}

/** Parses the header dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
function parseHeader(text: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape)
    throw new InputError(file, 'malformed .npy header (need descr, fortran_order, shape)');
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const out: number[] = [];
  for (const d of dims) {
    if (!/^\d+$/.test(d)) throw new InputError(file, `malformed .npy shape '(${shape[1]})'`);
    out.push(Number(d));
  }
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: out };
}

function fortranToC<T extends { length: number; [i: number]: unknown }>(src: T, dst: T, shape: number[]): void {
  const n = shape.length;
  const cStride = new Array<number>(n);
  const fStride = new Array<number>(n);
  let c = 1,
    f = 1;
  for (let i = n - 1; i >= 0; i--) {
    cStride[i] = c;
    c *= shape[i];
  }
  for (let i = 0; i < n; i++) {
    fStride[i] = f;
    f *= shape[i];
  }
  const total = numel(shape);
  const idx = new Array<number>(n).fill(0);
  for (let k = 0; k < total; k++) {
    let fo = 0;
    for (let i = 0; i < n; i++) fo += idx[i] * fStride[i];
    (dst as { [i: number]: unknown })[k] = src[fo];
    for (let i = n - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
  void cStride;
}

function readNumeric(bytes: Uint8Array, offset: number, count: number, info: DTypeInfo): HostTensor['data'] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, count * info.size);
  const le = info.little;
  const aligned = (bytes.byteOffset + offset) % info.size === 0;
  const copy = () => bytes.slice(offset, offset + count * info.size).buffer;
  switch (info.dtype) {
    case 'bool':
    case 'uint8':
      return bytes.slice(offset, offset + count);
    case 'int8':
      return new Int8Array(copy());
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getInt16(2 * i, le);
      return a;
    }
    case 'uint16':
    case 'float16': {
      const a = new Uint16Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getUint16(2 * i, le);
      return a;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getInt32(4 * i, le);
      return a;
    }
    case 'uint32': {
      const a = new Uint32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getUint32(4 * i, le);
      return a;
    }
    case 'float32': {
      if (le && aligned) return new Float32Array(copy());
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat32(4 * i, le);
      return a;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getFloat64(8 * i, le);
      return a;
    }
    case 'int64': {
      const a = new BigInt64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getBigInt64(8 * i, le);
      return a;
    }
    case 'uint64': {
      const a = new BigUint64Array(count);
      for (let i = 0; i < count; i++) a[i] = dv.getBigUint64(8 * i, le);
      return a;
    }
    default:
      throw new Error(`unreachable dtype ${info.dtype}`);
  }
}

function readStrings(bytes: Uint8Array, offset: number, count: number, info: DTypeInfo): string[] {
  const out: string[] = new Array(count);
  const w = info.charWidth!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, count * info.size);
  for (let i = 0; i < count; i++) {
    let s = '';
    for (let j = 0; j < w; j++) {
      const code = info.unicode ? dv.getUint32(i * info.size + 4 * j, info.little) : dv.getUint8(i * info.size + j);
      if (code === 0) break;
      s += String.fromCodePoint(code);
    }
    out[i] = s;
  }
  return out;
}

/** Parses a whole .npy file. `file` names it in errors. Fortran-order arrays are returned in C order. */
export function parseNpy(input: Uint8Array, file = 'array.npy'): HostArray {
  // A Node Buffer's slice() is a view; normalize so slice() below always copies.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new InputError(file, 'not a .npy file (bad magic)');
  const major = bytes[6];
  let headerLen: number, headerStart: number;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError(file, 'truncated .npy header');
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  } else throw new InputError(file, `unsupported .npy format version ${major}.${bytes[7]}`);
  if (headerLen > MAX_HEADER || headerStart + headerLen > bytes.length)
    throw new InputError(file, 'truncated or oversized .npy header');
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLen);
  // Versions 1-2 are latin-1, 3 is UTF-8. Decoded without spreading the bytes into a call (a header may be
  // up to MAX_HEADER bytes, which would overflow the stack).
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const { descr, fortran, shape } = parseHeader(header, file);
  const info = parseDescr(descr, file);
  const count = numel(shape);
  const dataStart = headerStart + headerLen;
  const need = count * info.size;
  if (!Number.isSafeInteger(need) || need > MAX_NPY_BYTES)
    throw new InputError(file, `array of shape (${shape.join(', ')}) is too large`);
  if (dataStart + need > bytes.length)
    throw new InputError(file, `truncated: header says ${need} data bytes, file has ${bytes.length - dataStart}`);
  if (info.dtype === 'string') {
    let data = readStrings(bytes, dataStart, count, info);
    if (fortran && shape.length > 1) {
      const c = new Array<string>(count);
      fortranToC(data, c, shape);
      data = c;
    }
    return { dtype: 'string', shape, data };
  }
  let data = readNumeric(bytes, dataStart, count, info);
  if (fortran && shape.length > 1) {
    const c = new (data.constructor as new (n: number) => typeof data)(count);
    fortranToC(data, c, shape);
    data = c;
  }
  return { dtype: info.dtype, shape, data } as HostTensor;
}

/** Parses a .npy that must be numeric. */
export function parseNumericNpy(bytes: Uint8Array, file = 'array.npy'): HostTensor {
  const a = parseNpy(bytes, file);
  if (a.dtype === 'string') throw new InputError(file, 'expected a numeric array, found strings');
  return a;
}

const DESCR: Record<NumericDType, string> = {
  bool: '|b1',
  uint8: '|u1',
  int8: '|i1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
  float16: '<f2',
  float32: '<f4',
  float64: '<f8',
};

/** Writes format 1.0 (little-endian, C order); strings as `<U{max length}`. */
export function writeNpy(arr: HostArray): Uint8Array {
  let descr: string, body: Uint8Array;
  if (arr.dtype === 'string') {
    const w = Math.max(1, ...arr.data.map((s) => [...s].length));
    descr = `<U${w}`;
    body = new Uint8Array(arr.data.length * 4 * w);
    const dv = new DataView(body.buffer);
    arr.data.forEach((s, i) => {
      [...s].forEach((ch, j) => dv.setUint32((i * w + j) * 4, ch.codePointAt(0)!, true));
    });
  } else {
    descr = DESCR[arr.dtype];
    const d = arr.data;
    body = new Uint8Array(d.buffer, d.byteOffset, d.byteLength); // host is little-endian (every supported platform)
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}
