/** Which tfjs backend runs the model, why, and a switch (the same as `?backend=`). */
import { useId } from 'react';
import { BROWSER_BACKENDS, isBrowserBackend } from '../../backend/select';
import { useStore } from '../../state/store';

const LABEL: Record<string, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

export function BackendIndicator() {
  const backend = useStore((s) => s.backend);
  const status = useStore((s) => s.backendStatus);
  const error = useStore((s) => s.backendError);
  const chooseBackend = useStore((s) => s.chooseBackend);
  const readoutEngine = useStore((s) => s.trainingReadoutEngine);
  const selectId = useId();

  const name =
    status === 'selecting' ? 'choosing…' : backend ? LABEL[backend.backend] : status === 'error' ? 'none' : '…';
  const reason = status === 'error' ? error : (backend?.reason ?? 'looking for WebGPU, WebGL, WebAssembly');
  const failed = backend?.tried.filter((t) => !t.ok) ?? [];

  return (
    <div className="backend" aria-live="polite">
      <span className={`backend-badge backend-${backend?.backend ?? 'none'}`} data-testid="backend-name">
        {name}
      </span>
      <span
        className="backend-reason"
        data-testid="backend-reason"
        title={failed.map((f) => `${f.name}: ${f.reason}`).join('\n')}
      >
        {reason}
      </span>
      <label htmlFor={selectId} className="visually-hidden">
        Backend
      </label>
      <select
        id={selectId}
        data-testid="backend-switch"
        value={backend?.backend ?? ''}
        disabled={status === 'selecting'}
        onChange={(e) => {
          const value = e.target.value;
          if (!isBrowserBackend(value)) return;
          const url = new URL(window.location.href);
          url.searchParams.set('backend', value);
          window.history.replaceState(null, '', url);
          void chooseBackend(value);
        }}
      >
        {!backend && <option value="">—</option>}
        {BROWSER_BACKENDS.map((b) => {
          const attempt = backend?.tried.find((t) => t.name === b);
          return (
            <option key={b} value={b}>
              {LABEL[b]}
              {attempt && !attempt.ok ? ' (unavailable)' : ''}
            </option>
          );
        })}
      </select>
      {readoutEngine && (
        <span className="backend-reason" data-testid="readout-engine" title={readoutEngine.reason}>
          {readoutEngine.reason}
        </span>
      )}
    </div>
  );
}
