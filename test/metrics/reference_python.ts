/**
 * The Python with NumPy of the reference environment that scripts/setup_torch.sh makes (or $V1X_PYTHON), for checks against
 * independent NumPy computations. Returns null with the reason when there is none, so tests skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TORCH_PYTHON } from '../fixtures/paths';

export function findNumpyPython(): { python: string } | { python: null; reason: string } {
  const candidates = [process.env.V1X_PYTHON, TORCH_PYTHON].filter((p): p is string => !!p);
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    const r = spawnSync(p, ['-c', 'import numpy'], { encoding: 'utf8' });
    if (r.status === 0) return { python: p };
  }
  return {
    python: null,
    reason: `no Python with NumPy (tried ${candidates.join(', ')}; make it with: bash scripts/setup_torch.sh, or set V1X_PYTHON)`,
  };
}
