/**
 * The readout geometry the field views (receptive fields, Gaussians) show: while a readout trains, the
 * worker's latest snapshot of it on the loaded model's core, so its neurons move; otherwise the loaded model's,
 * a factorized readout's neurons at their masks' peaks or centres of mass as the view settings say.
 */
import { useMemo } from 'react';
import { type ReadoutGeometry, snapshotGeometry, withMaskPosition } from '../../state/derived/readout_geometry';
import { useStore } from '../../state/store';
import type { ReadoutSnapshotMessage } from '../../train/worker/protocol';

/** Phases in which the worker's readout, not the loaded one, is the one to show. */
const LIVE = new Set(['training', 'paused', 'evaluating', 'exporting']);

/** Whether, in this training phase, the field views show the worker's readout (its snapshots). */
export function isLivePhase(phase: string): boolean {
  return LIVE.has(phase);
}

export interface FieldGeometry {
  geometry: ReadoutGeometry | null;
  /** The snapshot shown while a readout trains; null when the loaded model's readout is shown. */
  live: ReadoutSnapshotMessage | null;
}

/** The loaded model's readout geometry, a factorized readout's positions as the view settings choose. */
export function useReadoutGeometry(): ReadoutGeometry | null {
  const geometry = useStore((s) => s.geometry);
  const which = useStore((s) => s.view.maskPosition);
  return useMemo(() => (geometry ? withMaskPosition(geometry, which) : null), [geometry, which]);
}

export function useFieldGeometry(): FieldGeometry {
  const modelGeometry = useReadoutGeometry();
  const snapshot = useStore((s) => s.snapshot);
  const trainingPhase = useStore((s) => s.trainingPhase);
  const scan = useStore((s) => s.scan);
  const live = snapshot !== null && LIVE.has(trainingPhase) ? snapshot : null;
  const geometry = useMemo(
    () => (live && modelGeometry ? snapshotGeometry(live, modelGeometry, scan?.cellMotorCoordinates) : modelGeometry),
    [live, modelGeometry, scan],
  );
  return { geometry, live };
}
