/** Loading a recorded scan (zip or folder) and what was found in it. */
import { useStore } from '../../state/store';
import { ArrayMappingDialog } from '../components/ArrayMappingDialog';
import { ErrorBanner } from '../components/ErrorBanner';
import { FileDrop } from '../components/FileDrop';

export function ScanView() {
  const summary = useStore((s) => s.scanSummary);
  const status = useStore((s) => s.scanStatus);
  const progress = useStore((s) => s.scanProgress);
  const error = useStore((s) => s.scanError);
  const model = useStore((s) => s.model);
  const loadScanFiles = useStore((s) => s.loadScanFiles);
  const clearScanError = useStore((s) => s.clearScanError);
  const setScanError = (message: string) => useStore.setState({ scanError: message });

  const fitsModel = summary && model ? summary.imageShape.every((v, i) => v === model.inputShape[i]) : null;
  return (
    <section className="panel" aria-labelledby="scan-title" data-testid="scan-panel">
      <h2 id="scan-title">Scan</h2>
      <FileDrop
        label="Load scan (.zip)…"
        hint={
          <>
            or drop a neuralpredictors FileTree scan (zip or folder with <code>data/</code> and <code>meta/</code>), or
            plain arrays (<code>.npy</code> / <code>.npz</code> files or a folder of them)
          </>
        }
        accept=".zip,.npy,.npz"
        multiple
        folders
        disabled={status === 'loading'}
        testId="scan-input"
        onFiles={(files) => void loadScanFiles(files)}
        onError={setScanError}
      />
      {status === 'loading' && progress && (
        <div className="progress-line small" data-testid="scan-progress">
          <progress max={progress.total || 1} value={progress.done} />
          <span className="muted">{progress.total ? `${progress.done} / ${progress.total} files` : progress.what}</span>
        </div>
      )}
      <ErrorBanner message={error} onDismiss={clearScanError} testId="scan-error" />
      <ArrayMappingDialog />
      {summary ? (
        <dl className="facts small" data-testid="scan-summary">
          <dt>scan</dt>
          <dd>
            {summary.name} <span className="muted">(data key {summary.dataKey})</span>
          </dd>
          <dt>neurons</dt>
          <dd data-testid="scan-neurons">{summary.neurons.toLocaleString('en-US')}</dd>
          <dt>trials</dt>
          <dd data-testid="scan-tiers">
            {summary.trials.toLocaleString('en-US')}:{' '}
            {summary.trialsPerTier.map(([t, n]) => `${t} ${n.toLocaleString('en-US')}`).join(', ')}
          </dd>
          <dt>images</dt>
          <dd>
            {summary.imageShape.join('×')}
            {summary.scale !== 1 ? ` (stored ${summary.storedImageShape.join('×')}, rescaled ×${summary.scale})` : ''}
            {fitsModel === false ? (
              <span className="warn"> · the model takes {model!.inputShape.join('×')}</span>
            ) : null}
          </dd>
          <dt>memory</dt>
          <dd data-testid="scan-memory">
            {Math.round(summary.memoryBytes / 2 ** 20).toLocaleString('en-US')} MB of arrays
          </dd>
          <dt>repeats</dt>
          <dd>
            {summary.hasTestRepeats
              ? 'test images repeated: oracle metrics available'
              : 'no repeated test images: no oracle metrics'}
          </dd>
          <dt>cortex</dt>
          <dd>{summary.hasCorticalCoordinates ? 'cell_motor_coordinates present' : 'no cortical coordinates'}</dd>
          {summary.warnings.map((w) => (
            <dd key={w} className="warn full">
              {w}
            </dd>
          ))}
        </dl>
      ) : (
        status !== 'loading' && (
          <p className="muted small">
            No scan loaded. A scan is needed to fine-tune a readout and to evaluate the model.
          </p>
        )
      )}
    </section>
  );
}
