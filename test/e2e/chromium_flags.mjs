/** Debian Chromium's command-line flags for the browser tests (run.mjs) and the browser benchmark (bench/browser.ts). */

export const COMMON_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-domain-reliability',
  '--no-pings',
  '--metrics-recording-only',
];
// WebGPU in headless Chromium without a GPU: SwiftShader's Vulkan implementation as the adapter.
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
];
