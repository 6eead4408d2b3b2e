import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/host_tensor';
import { type GlobalHandler, PyDict, type PyTuple, unpickle } from '../../src/io/pickle';
import { PickleWriter } from '../../src/io/pickle_writer';

const enc = new TextEncoder();
/** Concatenates opcode bytes and strings (strings as latin1/ASCII) into one buffer. */
function bytes(...parts: (number | string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...enc.encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}
const none = new Map<string, GlobalHandler>();
const run = (b: Uint8Array, globals = none) => unpickle(b, { file: 'x.pkl', globals }).value;

describe('restricted unpickler: values', () => {
  it('reads the scalar, string and container opcodes a state_dict uses', () => {
    // {'a': (1, 300, -2, 2**40, 1.5, None, True, False, 'é', b'xy', [7, 7]), 'b': {}}
    const v = run(
      bytes(
        0x80,
        2,
        0x7d,
        0x71,
        0,
        0x28,
        0x58,
        [1, 0, 0, 0],
        'a',
        0x28,
        0x4b,
        1,
        0x4d,
        [44, 1],
        0x4a,
        [0xfe, 0xff, 0xff, 0xff],
        0x8a,
        6,
        [0, 0, 0, 0, 0, 1],
        0x47,
        [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
        0x4e,
        0x88,
        0x89,
        0x8c,
        2,
        [0xc3, 0xa9],
        0x43,
        2,
        'xy',
        0x5d,
        0x71,
        1,
        0x4b,
        7,
        0x61,
        0x30,
        0x68,
        1,
        0x28,
        0x4b,
        7,
        0x65,
        0x74,
        0x55,
        1,
        'b',
        0x7d,
        0x75,
        0x2e,
      ),
    );
    expect(v).toBeInstanceOf(PyDict);
    const d = v as PyDict;
    const t = d.map.get('a') as PyTuple;
    expect(t.items.slice(0, 9)).toEqual([1, 300, -2, 2 ** 40, 1.5, null, true, false, 'é']);
    expect(t.items[9]).toEqual(Uint8Array.from([120, 121]));
    // The list was memoized, popped, fetched back with BINGET and extended in place by APPEND and APPENDS.
    expect(t.items[10]).toEqual([7, 7]);
    expect(t.items.length).toBe(11);
    expect(d.map.get('b')).toBeInstanceOf(PyDict);
  });

  it('protocol 4 framing, MEMOIZE and STACK_GLOBAL', () => {
    const globals = new Map<string, GlobalHandler>([
      ['collections.OrderedDict', { call: () => new PyDict('OrderedDict') }],
    ]);
    const v = run(
      bytes(
        0x80,
        4,
        0x95,
        [30, 0, 0, 0, 0, 0, 0, 0],
        0x8c,
        11,
        'collections',
        0x94,
        0x8c,
        11,
        'OrderedDict',
        0x94,
        0x93,
        0x94,
        0x29,
        0x52,
        0x94,
        0x2e,
      ),
      globals,
    );
    expect((v as PyDict).className).toBe('OrderedDict');
  });

  it('LONG1 round trip through our writer for large and negative ints', () => {
    for (const x of [0n, 255n, -1n, -129n, 2n ** 63n - 1n, -(2n ** 63n), 0x1950a86a20f9469cfc6cn]) {
      const b = new PickleWriter().proto(2).int(x).stop().finish();
      const v = run(b);
      expect(BigInt(v as number | bigint)).toBe(x);
    }
  });

  it('reports where the next pickle starts (the legacy format chains five)', () => {
    const b = bytes(0x80, 2, 0x4b, 5, 0x2e, 0x80, 2, 0x4b, 6, 0x2e);
    const first = unpickle(b, { file: 'x', globals: none });
    expect(first).toEqual({ value: 5, end: 5 });
    expect(unpickle(b, { file: 'x', globals: none, offset: first.end }).value).toBe(6);
  });
});

describe('restricted unpickler: refusals', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      'os.system via GLOBAL',
      bytes(0x80, 2, 0x63, 'os\nsystem\n', 0x58, [4, 0, 0, 0], 'echo', 0x85, 0x52, 0x2e),
      /'os\.system'.*not allowed/,
    ],
    [
      'posix.system (how pickle names os.system on Linux)',
      bytes(0x80, 2, 0x63, 'posix\nsystem\n', 0x2e),
      /'posix\.system'/,
    ],
    [
      'builtins.eval via STACK_GLOBAL',
      bytes(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, 0x2e),
      /'builtins\.eval'/,
    ],
    ['subprocess.Popen', bytes(0x80, 2, 0x63, 'subprocess\nPopen\n', 0x2e), /'subprocess\.Popen'/],
    ['truncated string', bytes(0x80, 2, 0x58, [100, 0, 0, 0], 'abc'), /truncated/],
    ['huge BINUNICODE8 claim', bytes(0x80, 4, 0x8d, [0, 0, 0, 0, 0, 0, 0, 0x80], 'x'), /truncated/],
    ['no STOP', bytes(0x80, 2, 0x4b, 1), /before STOP/],
    ['stack underflow', bytes(0x80, 2, 0x30, 0x2e), /underflow/],
    ['BINGET of an unset memo', bytes(0x80, 2, 0x68, 9, 0x2e), /memo key 9/],
    ['unknown opcode', bytes(0x80, 2, 0xff), /opcode 0xff/],
    ['INST (protocol 0 object creation)', bytes(0x69, 'os\nsystem\n', 0x2e), /opcode 0x69/],
    ['protocol 6', bytes(0x80, 6, 0x2e), /protocol 6/],
    ['huge LONG4', bytes(0x80, 2, 0x8b, [0, 0, 0, 1], 0x2e), /too large/],
    ['persistent id without a loader', bytes(0x80, 2, 0x4b, 1, 0x51, 0x2e), /persistent id/],
    ['two items left at STOP', bytes(0x80, 2, 0x4b, 1, 0x4b, 2, 0x2e), /2 items/],
    ['unhashable dict key', bytes(0x80, 2, 0x7d, 0x5d, 0x4b, 1, 0x73, 0x2e), /dict key/],
  ];
  for (const [name, b, re] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        run(b);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).file).toBe('x.pkl');
      expect((err as Error).message).toMatch(re);
    });
  }

  it('an allowlisted global is never called when it is not a callable of the allowlist', () => {
    let called = 0;
    const globals = new Map<string, GlobalHandler>([
      ['torch.FloatStorage', {}],
      [
        'collections.OrderedDict',
        {
          call: () => {
            called++;
            return new PyDict();
          },
        },
      ],
    ]);
    expect(() => run(bytes(0x80, 2, 0x63, 'torch\nFloatStorage\n', 0x29, 0x52, 0x2e), globals)).toThrow(
      /may not be called/,
    );
    // A forbidden global after an allowed one: the refusal comes at the GLOBAL opcode, before the REDUCE.
    expect(() =>
      run(bytes(0x80, 2, 0x63, 'collections\nOrderedDict\n', 0x29, 0x63, 'os\nsystem\n', 0x52, 0x2e), globals),
    ).toThrow(/os\.system/);
    expect(called).toBe(0);
  });

  it('bounded: a million DUPs hit the stack limit instead of exhausting memory', () => {
    const b = new Uint8Array(3 + 2_000_000).fill(0x32);
    b.set([0x80, 2, 0x4e]);
    expect(() => unpickle(b, { file: 'x', globals: none, maxStack: 1 << 20 })).toThrow(/stack exceeds/);
  });
});
