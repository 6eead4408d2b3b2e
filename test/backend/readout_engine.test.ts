/**
 * The readout-engine rule (backend/select.ts readoutEngineFor): WebGPU on a hardware adapter, WASM on a software
 * one (the fallback flag or a software renderer's name) or none, the override either way, and a reason that names
 * the adapter and the cause. The browser run of the same rule on SwiftShader is in test/e2e/webgpu_kernels.e2e.mjs.
 */
import { describe, expect, it } from 'vitest';
import { isSoftwareAdapter, readoutEngineFor, readoutEngineFromQuery } from '../../src/backend/select';

const nvidia = { vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4070' };
const swiftshader = { vendor: 'google', architecture: 'swiftshader', description: '' };

describe('readout engine choice', () => {
  it('picks WebGPU on a hardware adapter and says which', () => {
    const c = readoutEngineFor(nvidia);
    expect(c.engine).toBe('webgpu');
    expect(c.reason).toMatch(/hardware adapter nvidia ada NVIDIA GeForce RTX 4070/);
  });

  it('keeps WASM on software adapters: SwiftShader, llvmpipe, the fallback flag, Microsoft Basic Render', () => {
    for (const info of [
      swiftshader,
      { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
      { vendor: 'intel', architecture: 'gen-12', isFallbackAdapter: true },
      { vendor: 'microsoft', description: 'Microsoft Basic Render Driver' },
    ]) {
      expect(isSoftwareAdapter(info)).toBe(true);
      const c = readoutEngineFor(info);
      expect(c.engine).toBe('wasm');
      expect(c.reason).toMatch(/software renderer/);
    }
    expect(isSoftwareAdapter(nvidia)).toBe(false);
  });

  it('keeps WASM without an adapter or WebGPU, whatever is forced', () => {
    expect(readoutEngineFor(null)).toEqual({ engine: 'wasm', reason: 'readout training on WASM: no WebGPU adapter' });
    expect(readoutEngineFor(null, 'webgpu').engine).toBe('wasm');
    expect(readoutEngineFor(null, null, 'this browser has no WebGPU').reason).toMatch(/no WebGPU$/);
  });

  it('obeys the override', () => {
    const forced = readoutEngineFor(swiftshader, 'webgpu');
    expect(forced.engine).toBe('webgpu');
    expect(forced.reason).toMatch(/software adapter\), forced/);
    expect(readoutEngineFor(nvidia, 'wasm').engine).toBe('wasm');
    expect(readoutEngineFromQuery('?readoutEngine=webgpu&x=1')).toBe('webgpu');
    expect(readoutEngineFromQuery('?readoutEngine=gpu')).toBeNull();
    expect(readoutEngineFromQuery('')).toBeNull();
  });
});
