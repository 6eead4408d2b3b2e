/**
 * The page: a header with the backend indicator; a sidebar with what the user loads and runs (checkpoint,
 * scan, fine-tuning), scrolling on its own; and the main area with the views as tabs (src/ui/views/registry.tsx).
 */
import { useStore } from '../state/store';
import { BackendIndicator } from './components/BackendIndicator';
import { ErrorBanner } from './components/ErrorBanner';
import { FileDrop } from './components/FileDrop';
import { ViewTabs } from './components/ViewTabs';
import { VIEW_TABS } from './views/registry';
import { ScanView } from './views/ScanView';
import { TrainingView } from './views/TrainingView';

export function App() {
  const model = useStore((s) => s.model);
  const status = useStore((s) => s.modelStatus);
  const progress = useStore((s) => s.modelProgress);
  const error = useStore((s) => s.modelError);
  const loadModelFiles = useStore((s) => s.loadModelFiles);
  const clearModelError = useStore((s) => s.clearModelError);
  const backendReady = useStore((s) => s.backendStatus === 'ready');
  const sessionStatus = useStore((s) => s.sessionStatus);
  const sessionNote = useStore((s) => s.sessionNote);
  const clearSession = useStore((s) => s.clearSession);

  return (
    <div className="app">
      <header className="header">
        <div>
          <h1>V1 Explorer</h1>
          <p className="muted small">Data-driven models of mouse primary visual cortex, running in your browser</p>
        </div>
        <BackendIndicator />
      </header>
      <div className="workspace">
        <aside className="sidebar" aria-label="Model, scan and fine-tuning">
          <section className="panel" aria-labelledby="load-title">
            <h2 id="load-title">Model</h2>
            <FileDrop
              label="Load checkpoint…"
              hint={
                <>
                  or drop a <code>.pth</code> / <code>.pth.tar</code> here, with its config <code>.json</code> if you
                  have one
                </>
              }
              accept=".pth,.pt,.tar,.json"
              multiple
              disabled={!backendReady || status === 'loading'}
              testId="model-input"
              onFiles={(files) => void loadModelFiles(files.filter((f): f is File => f instanceof File))}
            />
            <div className="row small">
              <p className="muted grow" data-testid="model-status" aria-live="polite">
                {status === 'loading'
                  ? `${sessionStatus === 'restoring' ? 'Restoring the last session: ' : 'Loading: '}${progress ?? ''}…`
                  : model
                    ? `Loaded ${model.source.checkpointName}${sessionStatus === 'restored' ? ' (restored from the last session)' : ''}`
                    : 'No model loaded yet.'}
              </p>
              <button
                type="button"
                className="button-quiet"
                data-testid="clear-session"
                onClick={() => void clearSession()}
                title="Forget the files and settings kept in this browser; what is on the page stays until you reload"
              >
                Clear saved session
              </button>
            </div>
            {model && (
              <p className="small model-summary" data-testid="model-summary">
                {model.neurons.toLocaleString('en-US')} neurons (readout {model.readoutKey}) · input{' '}
                {model.inputShape.join('×')} · {model.backend}
              </p>
            )}
            {sessionNote && <p className="muted small">{sessionNote}</p>}
            <ErrorBanner message={error} onDismiss={clearModelError} testId="model-error" />
          </section>
          <ScanView />
          <TrainingView />
        </aside>
        <main className="main">
          <ViewTabs tabs={VIEW_TABS} />
        </main>
      </div>
    </div>
  );
}
