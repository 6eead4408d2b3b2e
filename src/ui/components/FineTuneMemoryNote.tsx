/**
 * The memory a readout fine-tuning run will add to the tab, shown before it starts (state/derived/finetune_memory.ts:
 * the core-output cache exactly, the rest as measured in Chromium). Nothing when the core is fine-tuned too (no
 * cache; not measured) or before a model and a scan are loaded.
 */
import { useMemo } from 'react';
import { fineTuneMemory, formatMB } from '../../state/derived/finetune_memory';
import { useStore } from '../../state/store';

export function FineTuneMemoryNote() {
  const scan = useStore((s) => s.scan);
  const model = useStore((s) => s.model);
  const trainCore = useStore((s) => s.trainingSettings.trainCore);
  const m = useMemo(
    () => (scan && model && !trainCore ? fineTuneMemory(scan, model.architecture.core.outputShape) : null),
    [scan, model, trainCore],
  );
  if (!m) return null;
  return (
    <p className="small muted" data-testid="train-memory">
      memory: about {formatMB(m.total)} more while it runs (core-output cache {formatMB(m.cache)} float16, the worker's
      copy of the scan {formatMB(m.scanCopy)}, responses {formatMB(m.responses)}, workers ~{formatMB(m.runtimes)})
    </p>
  );
}
