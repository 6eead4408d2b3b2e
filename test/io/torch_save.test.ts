import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostTensor, StateDict } from '../../src/io/host_tensor';
import { readCheckpoint, readCheckpointContents } from '../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../src/io/torch_save';
import { ZipArchive } from '../../src/io/zip_archive';
import { SOTA as SOTA_DIR } from '../fixtures/paths';
import { diffStateDicts, diffTensors, hasTorch, tempDir, torchLoad } from './torch_reference';

const SOTA = join(SOTA_DIR, 'model.pth');

/** A state_dict with every dtype the writer supports, odd shapes included. */
function mixedStateDict(): StateDict {
  const sd: StateDict = new Map();
  const f = new Float32Array(24);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i) * 1e3;
  sd.set('w', { dtype: 'float32', shape: [2, 3, 4], data: f });
  sd.set('d', { dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -1e-300, 1e300]) });
  sd.set('n', { dtype: 'int64', shape: [], data: BigInt64Array.from([1470n]) });
  sd.set('big', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 2n ** 62n]) });
  sd.set('h', { dtype: 'float16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) });
  sd.set('i', { dtype: 'int32', shape: [3], data: Int32Array.from([-5, 0, 2 ** 31 - 1]) });
  sd.set('b', { dtype: 'bool', shape: [2], data: Uint8Array.from([1, 0]) });
  sd.set('u', { dtype: 'uint8', shape: [1, 2], data: Uint8Array.from([0, 255]) });
  sd.set('empty', { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) });
  sd.set('ünïcode.key', { dtype: 'float32', shape: [1], data: Float32Array.from([NaN]) });
  return sd;
}

describe('saveCheckpoint round trips through our reader', () => {
  it('fixture: read -> write zip -> read and read -> write legacy -> read are identical', async () => {
    const sd = await readCheckpoint(readFileSync(SOTA), SOTA);
    for (const format of ['zip', 'legacy'] as const) {
      const bytes = await saveCheckpoint(sd, { format });
      const back = await readCheckpointContents(bytes, `${format}.pth`);
      expect(back.format).toBe(format);
      expect(diffStateDicts(back.stateDict, sd)).toEqual([]);
    }
  });

  it('every dtype (float64 reads back as float32), empty and 0-d tensors, non-ASCII keys', async () => {
    const sd = mixedStateDict();
    for (const format of ['zip', 'legacy'] as const) {
      const back = await readCheckpoint(await saveCheckpoint(sd, { format }), `${format}.pth`);
      expect([...back.keys()]).toEqual([...sd.keys()]);
      for (const [k, t] of sd) {
        const want: HostTensor =
          t.dtype === 'float64'
            ? { dtype: 'float32', shape: t.shape, data: Float32Array.from(t.data as Float64Array) }
            : t;
        expect(diffTensors(back.get(k)!, want), `${format} ${k}`).toBeUndefined();
      }
    }
  });

  it('a legacy file with two readouts keeps the keys of both readouts', async () => {
    const src = await readCheckpoint(readFileSync(SOTA), SOTA);
    const sd: StateDict = new Map();
    for (const [k, t] of src) {
      if (!k.startsWith('readout.')) sd.set(k, t);
    }
    for (const [k, t] of src) {
      if (k.startsWith('readout.')) {
        sd.set(k.replace('26872-17-20', 'a'), t);
        sd.set(k.replace('26872-17-20', 'b'), { ...t, data: (t.data as Float32Array).map((x) => -x) });
      }
    }
    const back = await readCheckpoint(await saveCheckpoint(sd, { format: 'legacy' }), 'two.pth.tar');
    expect(diffStateDicts(back, sd)).toEqual([]);
    expect([...back.keys()].filter((k) => k.startsWith('readout.a.')).length).toBe(8);
    expect([...back.keys()].filter((k) => k.startsWith('readout.b.')).length).toBe(8);
  });

  it('zip layout: prefix, torch metadata entries, storages stored uncompressed at 64-byte aligned offsets', async () => {
    const sd = mixedStateDict();
    const bytes = await saveCheckpoint(sd, { prefix: 'my_model' });
    const zip = await ZipArchive.open(bytes, 'out.pth');
    expect(zip.names()).toContain('my_model/data.pkl');
    expect(new TextDecoder().decode(await zip.read('my_model/byteorder'))).toBe('little');
    expect(new TextDecoder().decode(await zip.read('my_model/version')).trim()).toBe('3');
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    // Walk the local headers: method 0 and data offset % 64 == 0 for every entry.
    let pos = 0,
      count = 0;
    while (dv.getUint32(pos, true) === 0x04034b50) {
      expect(dv.getUint16(pos + 8, true)).toBe(0);
      const size = dv.getUint32(pos + 18, true);
      const dataStart = pos + 30 + dv.getUint16(pos + 26, true) + dv.getUint16(pos + 28, true);
      expect(dataStart % 64).toBe(0);
      pos = dataStart + size;
      count++;
    }
    expect(count).toBe(zip.names().length);
    await zip.close();
  });

  it('refuses what torch cannot hold, and bad prefixes', async () => {
    await expect(
      saveCheckpoint(new Map([['x', { dtype: 'uint32', shape: [1], data: Uint32Array.from([1]) }]])),
    ).rejects.toThrow(/uint32/);
    await expect(
      saveCheckpoint(new Map([['x', { dtype: 'float32', shape: [2], data: new Float32Array(3) }]])),
    ).rejects.toThrow(/shape/);
    await expect(saveCheckpoint(mixedStateDict(), { prefix: 'a/b' })).rejects.toThrow(/prefix/);
  });
});

describe.skipIf(!hasTorch)('saveCheckpoint output read by torch.load(weights_only=True)', () => {
  it('fixture state_dict (zip and legacy): identical tensors', async () => {
    const sd = await readCheckpoint(readFileSync(SOTA), SOTA);
    const t = tempDir();
    try {
      for (const format of ['zip', 'legacy'] as const) {
        const path = join(t.dir, `ours_${format}.pth`);
        writeFileSync(path, await saveCheckpoint(sd, { format, prefix: 'ours' }));
        const ref = torchLoad(path);
        expect([...ref.keys()]).toEqual([...sd.keys()]);
        for (const [k, x] of sd) expect(diffTensors(ref.get(k)!.tensor, x), `${format} ${k}`).toBeUndefined();
      }
    } finally {
      t.dispose();
    }
  });

  it('every dtype, with torch dtypes as written', async () => {
    const sd = mixedStateDict();
    const t = tempDir();
    try {
      const path = join(t.dir, 'mixed.pth');
      writeFileSync(path, await saveCheckpoint(sd));
      const ref = torchLoad(path);
      expect([...ref.keys()]).toEqual([...sd.keys()]);
      expect(ref.get('d')!.torchDtype).toBe('torch.float64');
      expect(ref.get('h')!.torchDtype).toBe('torch.float16');
      expect(ref.get('n')!.torchDtype).toBe('torch.int64');
      expect(ref.get('b')!.torchDtype).toBe('torch.bool');
      for (const [k, x] of sd) expect(diffTensors(ref.get(k)!.tensor, x), k).toBeUndefined();
    } finally {
      t.dispose();
    }
  });
});
