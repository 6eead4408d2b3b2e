/**
 * Arrays on the host (CPU memory), independent of tfjs: what parsers produce and writers consume.
 * Shapes are row-major (C order) unless a parser says otherwise; PyTorch axis order is kept (NCHW).
 */
export type NumericDType =
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'bool';

export type TypedArrayFor<D extends NumericDType> = D extends 'uint8' | 'bool'
  ? Uint8Array
  : D extends 'int8'
    ? Int8Array
    : D extends 'int16'
      ? Int16Array
      : D extends 'uint16'
        ? Uint16Array
        : D extends 'int32'
          ? Int32Array
          : D extends 'uint32'
            ? Uint32Array
            : D extends 'int64'
              ? BigInt64Array
              : D extends 'uint64'
                ? BigUint64Array
                : D extends 'float16'
                  ? Uint16Array /* raw IEEE half bits */
                  : D extends 'float32'
                    ? Float32Array
                    : Float64Array;

export type AnyTypedArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** A numeric array in C order. */
export interface HostTensor<D extends NumericDType = NumericDType> {
  dtype: D;
  shape: number[];
  data: TypedArrayFor<D>;
}

/** A fixed-width string array (NumPy `<U..` / `|S..`), e.g. the tiers of a scan. */
export interface HostStrings {
  dtype: 'string';
  shape: number[];
  data: string[];
}

export type HostArray = HostTensor | HostStrings;

/** PyTorch state_dict, key order as stored. */
export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** IEEE 754 half (raw bits) to float32. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Any numeric host tensor as float32 (int64 beyond 2^53 loses precision; such values never occur in scans). */
export function toFloat32(t: HostTensor): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  const n = t.data.length;
  const out = new Float32Array(n);
  if (t.dtype === 'float16') {
    const d = t.data as Uint16Array;
    for (let i = 0; i < n; i++) out[i] = halfToFloat(d[i]);
  } else if (t.dtype === 'int64' || t.dtype === 'uint64') {
    const d = t.data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) out[i] = Number(d[i]);
  } else {
    const d = t.data as Exclude<AnyTypedArray, BigInt64Array | BigUint64Array>;
    for (let i = 0; i < n; i++) out[i] = d[i];
  }
  return out;
}

/** An error in a file the user gave us: always names the file and says what is wrong. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'InputError';
  }
}
