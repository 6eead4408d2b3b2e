/**
 * The fast frozen core's WebAssembly kernels in the browser's own engine (Chromium: relaxed SIMD, fused
 * multiply-add): on the page's WASM backend, the fixture checkpoint's core on its 8 fixture images through our
 * kernels (kernels/core_checks.ts via the test hook) against the model's own forward, |a - b| <= 1e-4 + 1e-4 |b|
 * (the Node parity test's tolerance), every tensor disposed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFloat32Npy } from './npy.mjs';

export async function fastCoreMatchesModelOnWasm({ openPage, fixtures, log }) {
  const page = await openPage({ query: 'backend=wasm' });
  assert.equal((await page.evaluate(() => window.__v1x.backendReady())).backend, 'wasm');
  const sota = join(fixtures, 'sensorium-sota');
  const model = readFileSync(join(sota, 'model.pth')).toString('base64');
  const config = JSON.parse(readFileSync(join(sota, 'config.json'), 'utf8'));
  const inputs = readFloat32Npy(join(sota, 'inputs.npy'));
  const r = await page.evaluate(
    async ({ model, config, data, shape }) => {
      const bytes = Uint8Array.from(atob(model), (c) => c.charCodeAt(0));
      const checks = await window.__v1x.coreKernels();
      return checks.fastCoreAgainstModel(bytes, config, Float32Array.from(data), shape);
    },
    { model, config, data: Array.from(inputs.data), shape: inputs.shape },
  );
  log(
    `${r.backend}: ${r.description}; worst |a - b| / (1e-4 + 1e-4 |b|) = ${r.worstRatio.toFixed(3)} over ${r.values}`,
  );
  assert.equal(r.backend, 'wasm');
  assert.match(r.description, /3 depthwise and 6 1x1 convs in our WebAssembly relaxed SIMD/);
  assert.ok(r.worstRatio <= 1, `fast core differs from the model's forward: ${r.worstRatio}`);
  assert.equal(r.leakedTensors, 0);
}
