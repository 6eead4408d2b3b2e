/**
 * Hostile checkpoints: each must give an InputError that names the file and says what is wrong, run nothing,
 * and end quickly. The evil pickles are written byte by byte here (no Python involved).
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, type StateDict } from '../../src/io/host_tensor';
import { PickleWriter } from '../../src/io/pickle_writer';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../src/io/torch_save';
import { writeStoredZip } from '../../src/io/zip_store_writer';
import { SOTA as SOTA_DIR } from '../fixtures/paths';

const SOTA = join(SOTA_DIR, 'model.pth');
const enc = new TextEncoder();

async function expectInputError(bytes: Uint8Array, re: RegExp, file = 'evil.pth'): Promise<InputError> {
  const t0 = performance.now();
  let err: unknown;
  try {
    await readCheckpoint(bytes, file);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  expect(err, 'should have thrown').toBeInstanceOf(InputError);
  expect((err as InputError).file).toBe(file);
  expect((err as Error).message).toMatch(re);
  console.log(`  ${ms.toFixed(1)} ms: ${(err as Error).message.slice(0, 160)}`);
  return err as InputError;
}

interface FakeTensor {
  name: string;
  storageClass?: string;
  key?: string;
  numel: number;
  shape: number[];
  stride: number[];
  offset?: number;
}

/** A state_dict pickle whose tensors say whatever the test wants (legacy adds the sixth pid field). */
function tensorPickle(tensors: FakeTensor[], legacy = false): Uint8Array {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().put().mark();
  tensors.forEach((t, i) => {
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark()
      .str('storage')
      .global('torch', t.storageClass ?? 'FloatStorage')
      .str(t.key ?? String(i))
      .str('cuda:0')
      .int(t.numel);
    if (legacy) w.none();
    w.tuple()
      .binpersid()
      .int(t.offset ?? 0)
      .intTuple(t.shape)
      .intTuple(t.stride)
      .bool(false);
    w.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  });
  return w.setitems().stop().finish();
}

function zipCheckpoint(pkl: Uint8Array, storages: Record<string, Uint8Array>): Uint8Array {
  return writeStoredZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/byteorder', data: enc.encode('little') },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
    { name: 'archive/version', data: enc.encode('3\n') },
  ]);
}

/** Legacy layout around a main pickle: magic, version, sys info, main, key list, storages (count + bytes). */
function legacyCheckpoint(main: Uint8Array, storages: [string, bigint, Uint8Array][]): Uint8Array {
  const magic = new PickleWriter().proto(2).int(0x1950a86a20f9469cfc6cn).stop().finish();
  const version = new PickleWriter().proto(2).int(1001).stop().finish();
  const sys = new PickleWriter().proto(2).emptyDict().mark().str('little_endian').bool(true).setitems().stop().finish();
  const list = new PickleWriter().proto(2).emptyList().mark();
  for (const [k] of storages) list.str(k);
  const parts = [magic, version, sys, main, list.appends().stop().finish()];
  for (const [, count, data] of storages) {
    const c = new Uint8Array(8);
    new DataView(c.buffer).setBigInt64(0, count, true);
    parts.push(c, data);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** pickle: os.system('touch <marker>') (as `posix.system` on Linux), optionally as a value in a state_dict. */
function systemCallPickle(module: string, marker: string): Uint8Array {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().put().mark();
  w.str('weight').global(module, 'system').str(`touch ${marker}`);
  // TUPLE1 then REDUCE: system('touch ...')
  const head = w.finish();
  return Uint8Array.from([...head, 0x85, 0x52, 0x75, 0x2e]);
}

const floats = (n: number) => new Uint8Array(new Float32Array(n).fill(1).buffer);

describe('hostile checkpoints give clear InputErrors and run nothing', () => {
  it('truncated zip', async () => {
    const good = readFileSync(SOTA);
    for (const cut of [good.length - 10, good.length >> 1, 1000, 100]) {
      await expectInputError(good.subarray(0, cut), /truncated or corrupt/);
    }
  });

  it('wrong magic: text, random bytes, an .npy, an empty file, a pickle without the torch magic, a bad legacy version', async () => {
    await expectInputError(enc.encode('hello, this is not a checkpoint'), /not a PyTorch checkpoint/);
    await expectInputError(
      Uint8Array.from({ length: 256 }, (_, i) => (i * 73 + 11) & 0xff),
      /not a PyTorch checkpoint/,
    );
    await expectInputError(readFileSync(join(SOTA_DIR, 'grad_bias.npy')), /not a PyTorch checkpoint/);
    await expectInputError(new Uint8Array(0), /not a PyTorch checkpoint/);
    await expectInputError(new PickleWriter().proto(2).int(5).stop().finish(), /without the torch magic/);
    const bad = legacyCheckpoint(tensorPickle([], true), []);
    bad[bad.indexOf(0x4d, 14) + 1] ^= 1; // BININT2 1001 -> 1000
    await expectInputError(bad, /protocol version/);
  });

  for (const module of ['os', 'posix']) {
    it(`a pickle whose REDUCE calls ${module}.system: refused at the global, in zip and legacy files`, async () => {
      const marker = join(tmpdir(), `v1x-pwned-${process.pid}-${module}`);
      const pkl = systemCallPickle(module, marker);
      await expectInputError(
        zipCheckpoint(pkl, {}),
        new RegExp(`'${module}\\.system'.*not allowed.*nothing was executed`),
      );
      await expectInputError(legacyCheckpoint(pkl, []), new RegExp(`'${module}\\.system'`));
      expect(existsSync(marker)).toBe(false);
    });
  }

  it('other non-allowlisted globals: builtins.eval, subprocess.Popen, a pickled nn.Module, numpy arrays', async () => {
    for (const [mod, name] of [
      ['builtins', 'eval'],
      ['subprocess', 'Popen'],
      ['torch.nn.modules.conv', 'Conv2d'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['torch', 'load'],
    ]) {
      const w = new PickleWriter().proto(2).global(mod, name).emptyTuple().reduce().stop().finish();
      const err = await expectInputError(zipCheckpoint(w, {}), new RegExp(`'${mod.replace(/\./g, '\\.')}\\.${name}'`));
      if (mod.startsWith('torch.nn')) expect(err.message).toMatch(/save model\.state_dict\(\) instead/);
    }
  });

  it('storage shorter than its tensor: by the description, by the bytes in the zip, by the bytes in a legacy file', async () => {
    // description: 4 elements, tensor (3, 3)
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: 4, shape: [3, 3], stride: [3, 1] }]), { 0: floats(4) }),
      /tensor 'w': needs element 8 of storage '0', which holds only 4 elements/,
    );
    // an offset past the end
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: 4, shape: [2], stride: [1], offset: 3 }]), { 0: floats(4) }),
      /needs element 4/,
    );
    // description says 9 floats, the entry holds 4
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: 9, shape: [3, 3], stride: [3, 1] }]), { 0: floats(4) }),
      /storage entry 'archive\/data\/0' holds 16 bytes, but its description \(9 float32 elements\) needs 36/,
    );
    // legacy: the file ends inside the storage
    await expectInputError(
      legacyCheckpoint(tensorPickle([{ name: 'w', numel: 9, shape: [9], stride: [1] }], true), [['0', 9n, floats(4)]]),
      /truncated: storage '0' needs 36 bytes/,
    );
    // legacy: the element count on disk disagrees with the description
    await expectInputError(
      legacyCheckpoint(tensorPickle([{ name: 'w', numel: 9, shape: [9], stride: [1] }], true), [['0', 4n, floats(9)]]),
      /holds 4 elements on disk but 9/,
    );
  });

  it('a claimed 2 GB size is refused before anything is allocated', async () => {
    const n = 2 ** 29; // float32 elements = 2 GiB
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: n, shape: [n], stride: [1] }]), { 0: floats(4) }),
      /claims 536870912 float32 elements \(2\.00 GiB\)/,
    );
    await expectInputError(
      legacyCheckpoint(tensorPickle([{ name: 'w', numel: n, shape: [n], stride: [1] }], true), [
        ['0', BigInt(n), floats(4)],
      ]),
      /2\.00 GiB/,
    );
    // A 2^31-element tensor expanded (stride 0) from a 1-element storage.
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: 1, shape: [2 ** 31], stride: [0] }]), { 0: floats(1) }),
      /claims 2147483648 elements/,
    );
    // Many modest stride-0 expansions that together would be gigabytes.
    const many = Array.from({ length: 8 }, (_, i) => ({
      name: `w${i}`,
      key: '0',
      numel: 1,
      shape: [2 ** 26],
      stride: [0],
    }));
    await expectInputError(zipCheckpoint(tensorPickle(many), { 0: floats(1) }), /refused as absurd/);
    // An element count beyond 2^53 in the pid.
    const w = new PickleWriter()
      .proto(2)
      .global('collections', 'OrderedDict')
      .emptyTuple()
      .reduce()
      .put()
      .mark()
      .str('w')
      .global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .mark()
      .str('storage')
      .global('torch', 'FloatStorage')
      .str('0')
      .str('cpu')
      .int(2n ** 62n)
      .tuple()
      .binpersid()
      .int(0)
      .intTuple([1])
      .intTuple([1])
      .bool(false)
      .global('collections', 'OrderedDict')
      .emptyTuple()
      .reduce()
      .tuple()
      .reduce()
      .setitems()
      .stop()
      .finish();
    await expectInputError(zipCheckpoint(w, { 0: floats(1) }), /storage size .* out of range/);
  });

  it('missing storage entry, unknown storage type, a storage type called as a function', async () => {
    await expectInputError(
      zipCheckpoint(tensorPickle([{ name: 'w', numel: 4, shape: [4], stride: [1] }]), {}),
      /missing storage entry 'archive\/data\/0'/,
    );
    await expectInputError(
      zipCheckpoint(
        tensorPickle([{ name: 'w', storageClass: 'ComplexFloatStorage', numel: 4, shape: [4], stride: [1] }]),
        { 0: floats(4) },
      ),
      /'torch\.ComplexFloatStorage'.*not allowed/,
    );
    const w = new PickleWriter().proto(2).global('torch', 'FloatStorage').emptyTuple().reduce().stop().finish();
    await expectInputError(zipCheckpoint(w, {}), /torch\.FloatStorage may not be called/);
  });

  it('a zip that is not a torch checkpoint, and a checkpoint that is not a state_dict', async () => {
    await expectInputError(writeStoredZip([{ name: 'readme.txt', data: enc.encode('hi') }]), /no data\.pkl/);
    await expectInputError(
      zipCheckpoint(new PickleWriter().proto(2).int(3).stop().finish(), {}),
      /holds a Python int, not a state_dict/,
    );
    await expectInputError(
      zipCheckpoint(new PickleWriter().proto(2).emptyDict().stop().finish(), {}),
      /holds no tensors/,
    );
  });
});

describe('fuzz: damaged checkpoints parse or throw InputError, never anything else, never hang', () => {
  const small: StateDict = new Map([
    ['a', { dtype: 'float32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) }],
    ['n', { dtype: 'int64', shape: [], data: BigInt64Array.from([7n]) }],
    ['d', { dtype: 'float64', shape: [2], data: Float64Array.from([1, 2]) }],
  ]);

  async function survives(bytes: Uint8Array): Promise<boolean> {
    try {
      await readCheckpoint(bytes, 'fuzz.pth');
      return true;
    } catch (e) {
      if (e instanceof InputError) return true;
      console.log('non-InputError:', e);
      return false;
    }
  }

  const damage = (base: Uint8Array, region: number) =>
    fc
      .record({
        flips: fc.array(fc.record({ at: fc.nat({ max: region - 1 }), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        cut: fc.option(fc.nat({ max: base.length }), { freq: 3 }),
      })
      .map(({ flips, cut }) => {
        const b = base.slice(0, cut ?? base.length);
        for (const f of flips) if (f.at < b.length) b[f.at] = f.value;
        return b;
      });

  for (const format of ['zip', 'legacy'] as const) {
    it(`${format}: random byte changes and truncations of a small checkpoint`, async () => {
      const base = await saveCheckpoint(small, { format });
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(damage(base, base.length), async (b) => {
          const t0 = performance.now();
          const ok = await survives(b);
          slowest = Math.max(slowest, performance.now() - t0);
          return ok;
        }),
        { numRuns: 1000, seed: format === 'zip' ? 1 : 2 },
      );
      console.log(`  ${format}: slowest case ${slowest.toFixed(1)} ms`);
    });
  }

  it('the real checkpoint with its pickle (the first entry) damaged', async () => {
    const base = new Uint8Array(readFileSync(SOTA));
    let slowest = 0;
    await fc.assert(
      fc.asyncProperty(damage(base, 4400), async (b) => {
        const t0 = performance.now();
        const ok = await survives(b);
        slowest = Math.max(slowest, performance.now() - t0);
        return ok;
      }),
      { numRuns: 60, seed: 3 },
    );
    console.log(`  model.pth: slowest case ${slowest.toFixed(1)} ms`);
  });
});
