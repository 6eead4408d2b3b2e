/**
 * The Python with NumPy made by ../shared/bench/setup_torch_reference.sh (or $V1X_PYTHON), for checks against
 * independent NumPy computations. Returns null with the reason when there is none, so tests skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function findNumpyPython(): { python: string } | { python: null; reason: string } {
  const candidates = [process.env.V1X_PYTHON, '/root/.cache/v1x-torch-reference/bin/python'].filter((p): p is string => !!p);
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    const r = spawnSync(p, ['-c', 'import numpy'], { encoding: 'utf8' });
    if (r.status === 0) return { python: p };
  }
  return { python: null, reason: `no Python with NumPy (tried ${candidates.join(', ')}; run ../shared/bench/setup_torch_reference.sh or set V1X_PYTHON)` };
}
