/**
 * The PyTorch reference timings (bench/torch_reference.py, with the Python that scripts/setup_torch.sh makes or
 * finds). Returns null with the reason when PyTorch cannot be set up or the script fails, so the benchmark can
 * omit the ratios.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SETUP = fileURLToPath(new URL('../scripts/setup_torch.sh', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./torch_reference.py', import.meta.url));

export interface TorchTimings {
  core_img_per_s: number;
  forward_img_per_s: number;
  readout_step_img_per_s: number;
  parity_max_rel_err?: number;
  neurons: number;
  batch: number;
  threads: number;
  torch: string;
}

export function torchReference(
  checkpoint: string,
  config: string,
  check?: { inputs: string; responses: string },
  repeats = 10,
): { timings: TorchTimings | null; reason: string } {
  const s = spawnSync('bash', [SETUP], { encoding: 'utf8', timeout: 600_000 });
  if (s.status !== 0)
    return {
      timings: null,
      reason: `scripts/setup_torch.sh failed (exit ${s.status}): ${(s.stderr || '').trim().split('\n').at(-1)}`,
    };
  const python = s.stdout.trim().split('\n').at(-1)!;
  const args = [SCRIPT, checkpoint, config, '--batch', '64', '--repeats', String(repeats), '--threads', '2'];
  if (check) args.push('--check-inputs', check.inputs, '--check-responses', check.responses);
  const r = spawnSync(python, args, { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0)
    return {
      timings: null,
      reason: `torch_reference.py failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').at(-1)}`,
    };
  try {
    const line = r.stdout.trim().split('\n').at(-1)!;
    return { timings: JSON.parse(line) as TorchTimings, reason: '' };
  } catch (e) {
    return { timings: null, reason: `could not parse torch_reference.py output: ${(e as Error).message}` };
  }
}
