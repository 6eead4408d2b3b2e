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
  /** PyTorch's default (NCHW) layout. */
  core_img_per_s: number;
  forward_img_per_s: number;
  readout_step_img_per_s: number;
  /** The faster of the default and channels_last layouts (oneDNN's fast path): the numbers to compare against. */
  core_img_per_s_best: number;
  forward_img_per_s_best: number;
  readout_step_img_per_s_best: number;
  /** The readout step on core outputs computed beforehand (a frozen core, as an expert would cache it). */
  readout_step_cached_img_per_s: number;
  parity_max_rel_err?: number;
  neurons: number;
  batch: number;
  threads: number;
  torch: string;
}

/** The Python of the PyTorch reference environment (made by scripts/setup_torch.sh if missing), or the reason. */
export function torchPython(): { python: string | null; reason: string } {
  const s = spawnSync('bash', [SETUP], { encoding: 'utf8', timeout: 600_000 });
  if (s.status !== 0)
    return {
      python: null,
      reason: `scripts/setup_torch.sh failed (exit ${s.status}): ${(s.stderr || '').trim().split('\n').at(-1)}`,
    };
  return { python: s.stdout.trim().split('\n').at(-1)!, reason: '' };
}

export function torchReference(
  checkpoint: string,
  config: string,
  check?: { inputs: string; responses: string },
  repeats = 10,
): { timings: TorchTimings | null; reason: string } {
  const { python, reason } = torchPython();
  if (!python) return { timings: null, reason };
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

/**
 * A bench/*.py script run with the reference Python; its last stdout line parsed as JSON, or null with the reason.
 * stderr passes through (progress lines).
 */
export function runTorchScript<T>(
  script: string,
  args: string[],
  timeoutMs = 1_800_000,
): { value: T | null; reason: string } {
  const { python, reason } = torchPython();
  if (!python) return { value: null, reason };
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const r = spawnSync(python, [path, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) return { value: null, reason: `${script} failed (exit ${r.status ?? r.signal})` };
  try {
    return { value: JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T, reason: '' };
  } catch (e) {
    return { value: null, reason: `could not parse ${script}'s output: ${(e as Error).message}` };
  }
}
