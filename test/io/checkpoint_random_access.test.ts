/**
 * Checkpoints read by random access from a Blob (torch_checkpoint.ts with `keep` and `stats`, io/byte_source.ts),
 * both formats, written by the project's torch.save-compatible writer:
 * - `keep` materializes only the kept tensors, and the counts show only their storages were read (plus the pickle);
 * - a legacy file whose pickle is longer than the first read (64 KiB: 3000 tensors' descriptions) is read in full
 *   by the growing prefix, equal to reading it from memory;
 * - a Blob cut short anywhere gives an InputError naming the file, never another error.
 */
import { describe, expect, it } from 'vitest';
import { newReadStats } from '../../src/io/byte_source';
import { InputError, type StateDict, toFloat32 } from '../../src/io/host_tensor';
import { readCheckpoint, readCheckpointContents } from '../../src/io/torch_checkpoint';
import { saveCheckpoint } from '../../src/io/torch_save';

function stateDict(n: number, size: number): StateDict {
  const sd: StateDict = new Map();
  for (let i = 0; i < n; i++) {
    const data = new Float32Array(size).map((_v, k) => i + k / size);
    sd.set(`layer${i}.weight`, { dtype: 'float32', shape: [size], data });
  }
  return sd;
}

describe('checkpoints read by range from a Blob', () => {
  for (const format of ['zip', 'legacy'] as const) {
    it(`${format}: only the kept tensors' storages are read`, async () => {
      const bytes = await saveCheckpoint(stateDict(20, 50_000), { format });
      const stats = newReadStats();
      const c = await readCheckpointContents(new Blob([new Uint8Array(bytes)]), 'm.pth', {
        keep: (k) => k === 'layer3.weight' || k === 'layer17.weight',
        stats,
      });
      expect([...c.stateDict.keys()]).toEqual(['layer3.weight', 'layer17.weight']);
      expect(toFloat32(c.stateDict.get('layer17.weight')!)[0]).toBe(17);
      expect(c.notes).toContain('read 2 of the 20 tensors (the others are not needed)');
      const storageParts = [...stats.parts].filter(([n]) => n !== 'pickles' && !/data\.pkl$|byteorder$/.test(n));
      expect(storageParts.map(([, b]) => b)).toEqual([200_000, 200_000]);
      // 2 of 20 storages of 200 KB each, the pickle and headers: far less than the 4 MB file
      expect(stats.sourceBytes).toBeLessThan(0.25 * bytes.length);
    });
  }

  it('legacy: a pickle longer than the first read is read by a growing prefix', async () => {
    const sd = stateDict(3000, 4);
    const bytes = await saveCheckpoint(sd, { format: 'legacy' });
    const stats = newReadStats();
    const fromBlob = await readCheckpoint(new Blob([new Uint8Array(bytes)]), 'big-pickle.pth', { stats });
    expect(stats.parts.get('pickles')).toBeGreaterThan(1 << 16);
    const fromMemory = await readCheckpoint(bytes, 'big-pickle.pth');
    expect(fromBlob.size).toBe(3000);
    for (const [k, v] of fromMemory)
      expect(Array.from(toFloat32(fromBlob.get(k)!)), k).toEqual(Array.from(toFloat32(v)));
  });

  for (const format of ['zip', 'legacy'] as const) {
    it(`${format}: a Blob cut short is an InputError naming the file`, async () => {
      const bytes = await saveCheckpoint(stateDict(5, 1000), { format });
      for (const cut of [10, 200, Math.floor(bytes.length / 2), bytes.length - 9]) {
        const blob = new Blob([bytes.slice(0, cut)]);
        await expect(readCheckpoint(blob, 'cut.pth'), `cut at ${cut}`).rejects.toBeInstanceOf(InputError);
        await expect(readCheckpoint(blob, 'cut.pth')).rejects.toThrow(/cut\.pth/);
      }
    });
  }
});
