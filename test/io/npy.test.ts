/**
 * .npy reader and writer: every dtype a scan may hold, format versions 1-3, Fortran order and big-endian
 * files as NumPy writes them (when the reference venv is there), and hostile bytes refused with an InputError.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HostArray, halfToFloat, InputError } from '../../src/io/host_tensor';
import { parseNpy, parseNumericNpy, writeNpy } from '../../src/io/npy';
import { noTorchReason, TORCH_PYTHON as PYTHON } from '../fixtures/paths';

const havePython = existsSync(PYTHON);
if (!havePython) console.log(noTorchReason('.npy parity with NumPy'));

/** A .npy built by hand: header text as given, then the body. */
function npyBytes(header: string, body: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const text = new TextEncoder().encode(header);
  const out = new Uint8Array(pre + text.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  out.set(text, pre);
  out.set(body, pre + text.length);
  return out;
}

function plain(a: HostArray): unknown[] {
  return Array.from(a.data as ArrayLike<unknown>, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

describe.skipIf(!havePython)('files written by NumPy', () => {
  // name -> NumPy expression; every array is 2 x 3 unless said, to check the order of elements.
  const cases: Record<string, string> = {
    uint8: "np.arange(6, dtype='u1').reshape(2, 3) * 40",
    int8: "np.array([[-128, -1, 0], [1, 2, 127]], dtype='i1')",
    int16: "np.array([[-32768, -2, 0], [3, 300, 32767]], dtype='<i2')",
    uint16: "np.array([[0, 1, 2], [3, 40000, 65535]], dtype='<u2')",
    int32: "np.array([[-2**31, -5, 0], [7, 70000, 2**31 - 1]], dtype='<i4')",
    uint32: "np.array([[0, 1, 2], [3, 4, 2**32 - 1]], dtype='<u4')",
    int64: "np.array([[-2**53, -1, 0], [1, 123456789012, 2**53]], dtype='<i8')",
    uint64: "np.array([[0, 1, 2], [3, 4, 2**53]], dtype='<u8')",
    float16: "np.array([[0.5, -2.25, 65504], [6e-08, 1e-4, -0.0]], dtype='<f2')",
    float32: "np.array([[1.5, -2.25, 3e38], [1e-38, np.pi, -0.0]], dtype='<f4')",
    float64: "np.array([[1.5, -2.25, 1e300], [5e-324, np.pi, -0.0]], dtype='<f8')",
    bool: 'np.array([[True, False, True], [False, False, True]])',
    big_f4: "np.array([[1.5, -2.25, 3.0], [4.0, np.pi, 6.0]], dtype='>f4')",
    big_i8: "np.array([[1, -2, 3], [4, 2**40, 6]], dtype='>i8')",
    fortran_f8: "np.asfortranarray(np.arange(6, dtype='f8').reshape(2, 3))",
    fortran_3d: "np.asfortranarray(np.arange(24, dtype='i4').reshape(2, 3, 4))",
    fortran_u1: "np.asfortranarray((np.arange(6, dtype='u1') * 7).reshape(2, 3))",
    unicode: "np.array([['train', 'validation', 'test'], ['final_test', 'é✓', '']])",
    bytes: "np.array([[b'ab', b'c', b''], [b'def', b'g', b'hi']], dtype='S3')",
    fortran_str: "np.asfortranarray(np.array([['a', 'bb', 'ccc'], ['d', 'ee', 'f']]))",
    scalar: 'np.float32(108.5272)',
    empty: "np.zeros((0, 3), dtype='<f4')",
  };

  it('reads every dtype, byte order and memory order to the values NumPy holds (C order)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'v1x-npy-'));
    try {
      const script = `
import json, sys, numpy as np
d = sys.argv[1]
cases = json.loads(sys.argv[2])
out = {}
for name, expr in cases.items():
    a = np.asarray(eval(expr))
    np.save(f'{d}/{name}.npy', a)
    flat = np.ascontiguousarray(a).ravel()
    if a.dtype.kind == 'f':
        vals = [float(v) for v in flat]
    elif a.dtype.kind == 'S':
        vals = [v.decode() for v in flat]
    elif a.dtype.kind == 'U':
        vals = [str(v) for v in flat]
    elif a.dtype.kind == 'b':
        vals = [int(v) for v in flat]
    else:
        vals = [int(v) for v in flat]
    out[name] = {'shape': list(a.shape), 'values': vals, 'fortran': bool(np.isfortran(a))}
print(json.dumps(out))
`;
      const ref = JSON.parse(execFileSync(PYTHON, ['-c', script, dir, JSON.stringify(cases)]).toString());
      for (const name of Object.keys(cases)) {
        const a = parseNpy(readFileSync(join(dir, `${name}.npy`)), `${name}.npy`);
        expect(a.shape, name).toEqual(ref[name].shape);
        let values = plain(a);
        if (a.dtype === 'float16') values = values.map((v) => halfToFloat(v as number));
        if (a.dtype === 'float32' || a.dtype === 'float16') {
          values.forEach((v, i) => expect(v, `${name}[${i}]`).toBe(Math.fround(ref[name].values[i])));
        } else {
          expect(values, name).toEqual(ref[name].values);
        }
      }
      expect(ref.fortran_f8.fortran && ref.fortran_3d.fortran).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads format versions 2.0 and 3.0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'v1x-npy-'));
    try {
      const script = `
import sys, numpy as np
from numpy.lib import format as f
d = sys.argv[1]
with open(f'{d}/v2.npy', 'wb') as fh:
    f.write_array(fh, np.arange(5, dtype='<f4'), version=(2, 0))
with open(f'{d}/v3.npy', 'wb') as fh:
    f.write_array(fh, np.array(['ä', 'tier'], dtype='<U4'), version=(3, 0))
`;
      execFileSync(PYTHON, ['-c', script, dir]);
      const v2 = readFileSync(join(dir, 'v2.npy'));
      expect(v2[6]).toBe(2);
      expect(Array.from(parseNumericNpy(v2).data as Float32Array)).toEqual([0, 1, 2, 3, 4]);
      const v3 = readFileSync(join(dir, 'v3.npy'));
      expect(v3[6]).toBe(3);
      expect(parseNpy(v3).data).toEqual(['ä', 'tier']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes files NumPy reads back with allow_pickle=False', () => {
    const dir = mkdtempSync(join(tmpdir(), 'v1x-npy-'));
    try {
      const arrays: Record<string, HostArray> = {
        f4: { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1.5, -2, 3, 4]) },
        i8: { dtype: 'int64', shape: [3], data: BigInt64Array.from([1n, -2n, 2n ** 40n]) },
        u1: { dtype: 'uint8', shape: [1, 2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
        s: { dtype: 'string', shape: [3], data: ['train', 'test', 'é'] },
        z: { dtype: 'float32', shape: [], data: Float32Array.from([58.8938]) },
      };
      for (const [k, a] of Object.entries(arrays)) writeFileSync(join(dir, `${k}.npy`), writeNpy(a));
      const script = `
import json, sys, numpy as np
d = sys.argv[1]
print(json.dumps({k: [list(a.shape), a.ravel().tolist(), a.dtype.str] for k in ['f4', 'i8', 'u1', 's', 'z'] for a in [np.load(f'{d}/{k}.npy', allow_pickle=False)]}))
`;
      const ref = JSON.parse(execFileSync(PYTHON, ['-c', script, dir]).toString());
      expect(ref.f4).toEqual([[2, 2], [1.5, -2, 3, 4], '<f4']);
      expect(ref.i8).toEqual([[3], [1, -2, 2 ** 40], '<i8']);
      expect(ref.u1).toEqual([[1, 2, 3], [0, 1, 2, 253, 254, 255], '|u1']);
      expect(ref.s).toEqual([[3], ['train', 'test', 'é'], '<U5']);
      expect(ref.z[0]).toEqual([]);
      expect(ref.z[1][0]).toBeCloseTo(58.8938, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('round trip through our writer', () => {
  it('keeps dtype, shape and values', () => {
    const arrays: HostArray[] = [
      { dtype: 'float64', shape: [2, 3], data: Float64Array.from([1, 2, 3, 4, 5, Math.PI]) },
      { dtype: 'int16', shape: [3], data: Int16Array.from([-1, 0, 1]) },
      { dtype: 'bool', shape: [2], data: Uint8Array.from([1, 0]) },
      { dtype: 'float16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) },
      { dtype: 'string', shape: [2], data: ['V1', 'L2/3'] },
    ];
    for (const a of arrays) {
      const b = parseNpy(writeNpy(a));
      expect(b.dtype).toBe(a.dtype);
      expect(b.shape).toEqual(a.shape);
      expect(plain(b)).toEqual(plain(a));
    }
    const half = parseNumericNpy(writeNpy(arrays[3]));
    expect(Array.from(half.data as Uint16Array, halfToFloat)).toEqual([1, -2]);
  });

  it('aligns the data to 64 bytes as NumPy does', () => {
    const bytes = writeNpy({ dtype: 'float32', shape: [7], data: new Float32Array(7) });
    expect((bytes.length - 28) % 64).toBe(0);
  });
});

describe('hostile and broken files', () => {
  const body = (n: number) => new Uint8Array(n);
  const expectError = (bytes: Uint8Array, msg: RegExp) => {
    let err: unknown;
    try {
      parseNpy(bytes, 'x.npy');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).file).toBe('x.npy');
    expect((err as Error).message).toMatch(msg);
  };

  it('refuses object arrays (pickles)', () => {
    expectError(npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", body(16)), /pickle.*refused/);
  });

  it('refuses truncated data and truncated headers', () => {
    expectError(
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", body(15)),
      /truncated: header says 16 data bytes, file has 15/,
    );
    expectError(
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", body(16)).subarray(0, 30),
      /truncated or oversized .npy header/,
    );
    expectError(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 1, 0]), /truncated .npy header/);
  });

  it('refuses bad magic, unknown versions, unknown dtypes and malformed headers', () => {
    expectError(new TextEncoder().encode('PK\x03\x04 not an npy at all'), /bad magic/);
    expectError(
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", body(4), 4),
      /unsupported .npy format version 4/,
    );
    expectError(
      npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", body(8)),
      /unsupported .npy dtype '<c8'/,
    );
    expectError(
      npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", body(4)),
      /malformed .npy header/,
    );
    expectError(
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", body(4)),
      /malformed .npy shape/,
    );
    expectError(
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (__import__('os'),), }\n", body(4)),
      /malformed .npy shape/,
    );
  });

  it('refuses absurd size claims without allocating them', () => {
    expectError(
      npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000, 100000), }\n", body(8)),
      /too large/,
    );
    expectError(
      npyBytes("{'descr': '<U99999999', 'fortran_order': False, 'shape': (1000,), }\n", body(8)),
      /too large/,
    );
  });

  it('handles a large (version 2) header without blowing the stack', () => {
    const pad = ' '.repeat(900_000);
    const a = parseNpy(
      npyBytes(
        `{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }${pad}\n`,
        Uint8Array.from([1, 0, 255, 255]),
        2,
      ),
    );
    expect(plain(a)).toEqual([1, -1]);
    expectError(
      npyBytes(`{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }${' '.repeat(1 << 21)}\n`, body(4), 2),
      /oversized/,
    );
  });

  it('parseNumericNpy refuses strings', () => {
    expect(() => parseNumericNpy(writeNpy({ dtype: 'string', shape: [1], data: ['a'] }), 't.npy')).toThrow(
      /t.npy: expected a numeric array/,
    );
  });
});
