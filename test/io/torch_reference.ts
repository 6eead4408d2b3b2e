/**
 * Test helpers that ask PyTorch (the reference venv made by scripts/setup_torch.sh) what a
 * checkpoint holds. When the venv is missing, `torchSkipReason` says so and the tests that need it skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostTensor, StateDict } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { noTorchReason, TORCH_PYTHON } from '../fixtures/paths';

export { TORCH_PYTHON };
export const PY_DIR = fileURLToPath(new URL('./py/', import.meta.url));
export const hasTorch = existsSync(TORCH_PYTHON);
export const torchSkipReason = hasTorch ? '' : noTorchReason('the comparisons with torch.load / torch.save');
if (!hasTorch) console.log(torchSkipReason);

/** Runs one of test/io/py/*.py with the reference python. */
export function runPy(script: string, args: string[]): string {
  return execFileSync(TORCH_PYTHON, [join(PY_DIR, script), ...args], { encoding: 'utf8', timeout: 120_000 });
}

export function tempDir(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'v1x-io-'));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TorchTensor {
  tensor: HostTensor;
  torchDtype: string;
}

/** What `torch.load(path, weights_only=True)` gives, tensor by tensor, in state_dict order. */
export function torchLoad(path: string): Map<string, TorchTensor> {
  const t = tempDir();
  try {
    runPy('dump_state_dict.py', [path, t.dir]);
    const index = JSON.parse(readFileSync(join(t.dir, 'index.json'), 'utf8')) as {
      key: string;
      file: string;
      dtype: string;
    }[];
    const out = new Map<string, TorchTensor>();
    for (const e of index)
      out.set(e.key, { tensor: parseNumericNpy(readFileSync(join(t.dir, e.file)), e.file), torchDtype: e.dtype });
    return out;
  } finally {
    t.dispose();
  }
}

/** Exact comparison: same keys in the same order, shapes, dtypes and bit-identical values (NaN == NaN). */
export function diffStateDicts(a: StateDict, b: StateDict): string[] {
  const problems: string[] = [];
  const ka = [...a.keys()],
    kb = [...b.keys()];
  if (ka.join('\n') !== kb.join('\n')) problems.push(`keys differ: ${ka.length} vs ${kb.length}`);
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y) continue;
    const p = diffTensors(x, y);
    if (p) problems.push(`${k}: ${p}`);
  }
  return problems;
}

export function diffTensors(x: HostTensor, y: HostTensor): string | undefined {
  if (x.dtype !== y.dtype) return `dtype ${x.dtype} vs ${y.dtype}`;
  if (x.shape.join(',') !== y.shape.join(',')) return `shape (${x.shape}) vs (${y.shape})`;
  if (x.data.length !== y.data.length) return `length ${x.data.length} vs ${y.data.length}`;
  for (let i = 0; i < x.data.length; i++) {
    const u = x.data[i],
      v = y.data[i];
    if (u !== v && !(Number.isNaN(u) && Number.isNaN(v))) return `element ${i}: ${u} vs ${v}`;
  }
  return undefined;
}
