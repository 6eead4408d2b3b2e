/**
 * Recorded scans (neuralpredictors FileTree format): sources, loader, normalization, trial selections.
 * Browser-safe: the Node folder/zip-path source is in './node_dir_source' and must be imported directly.
 */

export { fileListScanSource, type PathedFile } from './file_list_source';
export { DEFAULT_MAX_SCAN_BYTES, loadScan, NonFiniteError, sensoriumDataKey } from './load_scan';
export {
  buildNormalizer,
  normalizedBehavior,
  normalizedImages,
  normalizedPupilCenter,
  normalizedResponses,
  responsePrecision,
} from './normalize';
export { Rescaler, rescaledSize } from './rescale';
export { findScanRoot, memoryScanSource, type ScanSource, zipScanSource } from './source';
export { hasRepeats, repeatGroups, tierCounts, tierIndices } from './tiers';
export type { LoadScanOptions, NeuronInfo, NormalizedGroup, Normalizer, Scan, Statistics } from './types';
export { openZipScan } from './zip_batch_source';
