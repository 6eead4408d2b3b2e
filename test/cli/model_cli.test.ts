/** `v1x info / predict / core` run as a user would, on the sensorium-sota fixture; bad inputs exit 1 with one line. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNumericNpy, writeNpy } from '../../src/io/npy';
import { expectClose, FIXTURE, npy } from '../model/fixture';

const BIN = join(__dirname, '../../bin/v1x.mjs');
const M = FIXTURE + 'model.pth';
const dir = mkdtempSync(join(tmpdir(), 'v1x-model-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function v1x(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readF32(path: string): { shape: number[]; data: Float32Array } {
  const t = parseNumericNpy(new Uint8Array(readFileSync(path)), path);
  expect(t.dtype).toBe('float32');
  return { shape: t.shape, data: t.data as Float32Array };
}

describe('v1x info', () => {
  it('prints the architecture, readouts and neuron counts', () => {
    const r = v1x('info', '--checkpoint', M);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('4 layers');
    expect(r.stdout).toContain('layer1: depth-separable');
    expect(r.stdout).toContain(
      "readout '26872-17-20' (default): FullGaussian2d, 7776 neurons, 64 features, sigma full",
    );
    const j = JSON.parse(v1x('info', '--checkpoint', M, '--config', FIXTURE + 'config.json', '--json').stdout);
    expect(j.readouts).toEqual([expect.objectContaining({ key: '26872-17-20', neurons: 7776, gauss_type: 'full' })]);
    expect(j.core.outputShape).toEqual([64, 28, 56]);
  });
});

describe('v1x predict and core', () => {
  it('predict (wasm, the default) matches responses.npy', () => {
    const out = join(dir, 'y.npy');
    const r = v1x(
      'predict',
      '--checkpoint',
      M,
      '--config',
      FIXTURE + 'config.json',
      '--images',
      FIXTURE + 'inputs.npy',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const y = readF32(out);
    expect(y.shape).toEqual([8, 7776]);
    expectClose('responses', y.data, npy('responses.npy').data, 1e-4, 1e-4);
  });

  it('predict --threads 2: the core on worker threads, the same responses', () => {
    const out = join(dir, 'y_threads.npy');
    const args = ['--config', FIXTURE + 'config.json', '--images', FIXTURE + 'inputs.npy', '--out', out];
    const r = v1x('predict', '--checkpoint', M, ...args, '--threads', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the core on 2 worker threads/);
    expectClose('responses', readF32(out).data, npy('responses.npy').data, 1e-4, 1e-4);
    const bad = v1x('predict', '--checkpoint', M, ...args, '--threads', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^v1x: .*--threads must be a positive integer, got 0/);
  });

  it('predict --backend cpu --readout KEY on two images', () => {
    const x2 = join(dir, 'x2.npy');
    writeFileSync(
      x2,
      writeNpy({ dtype: 'float32', shape: [2, 1, 36, 64], data: npy('inputs.npy').data.slice(0, 2 * 36 * 64) }),
    );
    const out = join(dir, 'y2.npy');
    const r = v1x(
      'predict',
      '--checkpoint',
      M,
      '--readout',
      '26872-17-20',
      '--images',
      x2,
      '--out',
      out,
      '--backend',
      'cpu',
    );
    expect(r.code, r.stderr).toBe(0);
    expectClose('responses[0:2]', readF32(out).data, npy('responses.npy').data.subarray(0, 2 * 7776), 1e-4, 1e-4);
  });

  it('core writes (B, C, H, W) matching core_output.npy', () => {
    const out = join(dir, 'core.npy');
    const r = v1x('core', '--checkpoint', M, '--images', FIXTURE + 'inputs.npy', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const y = readF32(out);
    expect(y.shape).toEqual([8, 64, 28, 56]);
    expectClose('core_output', y.data.subarray(0, 2 * 64 * 28 * 56), npy('core_output.npy').data, 1e-4, 1e-4);
  });
});

describe('bad input: exit code 1 and one line on stderr', () => {
  const expectOneLineError = (r: ReturnType<typeof v1x>, text: string): void => {
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^v1x: /);
    expect(lines[0]).toContain(text);
  };

  it('missing checkpoint, config or images', () => {
    expectOneLineError(v1x('info', '--checkpoint', join(dir, 'nope.pth')), 'nope.pth: no such file');
    expectOneLineError(v1x('info', '--checkpoint', M, '--config', join(dir, 'nope.json')), 'nope.json: no such file');
    expectOneLineError(
      v1x('predict', '--checkpoint', M, '--images', join(dir, 'nope.npy'), '--out', join(dir, 'o.npy')),
      'nope.npy: no such file',
    );
  });

  it('images of the wrong shape or dtype', () => {
    const wrong = join(dir, 'wrong.npy');
    writeFileSync(wrong, writeNpy({ dtype: 'float32', shape: [3, 1, 36, 63], data: new Float32Array(3 * 36 * 63) }));
    expectOneLineError(
      v1x('predict', '--checkpoint', M, '--images', wrong, '--out', join(dir, 'o.npy')),
      'images have shape (3, 1, 36, 63), the model takes (batch, 1, 36, 64)',
    );
    const ints = join(dir, 'ints.npy');
    writeFileSync(ints, writeNpy({ dtype: 'uint8', shape: [1, 1, 36, 64], data: new Uint8Array(36 * 64) }));
    expectOneLineError(
      v1x('core', '--checkpoint', M, '--images', ints, '--out', join(dir, 'o.npy')),
      'images must be float32 (already normalized), got uint8',
    );
  });

  it('unknown readout, bad backend, not a checkpoint, bad config, unknown option', () => {
    const X = FIXTURE + 'inputs.npy';
    expectOneLineError(
      v1x('predict', '--checkpoint', M, '--readout', 'other', '--images', X, '--out', join(dir, 'o.npy')),
      "no readout 'other' (readouts: 26872-17-20)",
    );
    expectOneLineError(
      v1x('predict', '--checkpoint', M, '--images', X, '--out', join(dir, 'o.npy'), '--backend', 'gpu'),
      '--backend must be cpu or wasm',
    );
    expectOneLineError(v1x('info', '--checkpoint', FIXTURE + 'config.json'), 'config.json');
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, '{"gauss_type": "round"}');
    expectOneLineError(v1x('info', '--checkpoint', M, '--config', cfg), "bad.json: config key 'gauss_type' must be");
    expectOneLineError(v1x('info', '--checkpoint', M, '--images', X), "unknown option '--images'");
  });
});
