/** The page loads, offline, and says which backend runs the model. */
import assert from 'node:assert/strict';

export async function pageShowsWebGPUBackend({ page, shot }) {
  const backend = await page.evaluate(() => window.__v1x.backendReady());
  await page.getByTestId('backend-name').filter({ hasText: 'WebGPU' }).waitFor();
  assert.equal(
    backend.backend,
    'webgpu',
    `expected WebGPU with the SwiftShader flags; got ${backend.backend}: ${backend.reason}`,
  );
  const reason = await page.getByTestId('backend-reason').textContent();
  assert.match(reason, /WebGPU adapter/);
  await shot('start');
}

export async function fallsBackToWebGLWithoutWebGPU({ openPage, shot }) {
  const page = await openPage({ webgpu: false });
  const backend = await page.evaluate(() => window.__v1x.backendReady());
  assert.equal(backend.backend, 'webgl', `expected the WebGL fallback; got ${backend.backend}: ${backend.reason}`);
  const webgpu = backend.tried.find((t) => t.name === 'webgpu');
  assert.ok(webgpu && !webgpu.ok, 'WebGPU should have been tried and failed');
  const reason = await page.getByTestId('backend-reason').textContent();
  assert.match(reason, /webgpu unavailable: /i, `the indicator should say why WebGPU is not used: ${reason}`);
  await shot('fallback', page);
}

export async function backendQueryParameterOverrides({ openPage }) {
  const page = await openPage({ query: 'backend=wasm' });
  const backend = await page.evaluate(() => window.__v1x.backendReady());
  assert.equal(backend.backend, 'wasm', `?backend=wasm should give WASM; got ${backend.backend}: ${backend.reason}`);
  await page.getByTestId('backend-name').filter({ hasText: 'WASM' }).waitFor();
}
