/**
 * Recorded scans (neuralpredictors FileTree format): sources, loader, normalization, trial selections.
 * Browser-safe: the Node folder/zip-path source is in './node_dir_source' and must be imported directly.
 */
export type { LoadScanOptions, NeuronInfo, NormalizedGroup, Normalizer, Scan, Statistics } from './types';
export { type ScanSource, findScanRoot, memoryScanSource, zipScanSource } from './source';
export { openZipScan } from './zip_batch_source';
export { type PathedFile, fileListScanSource } from './file_list_source';
export { DEFAULT_MAX_SCAN_BYTES, NonFiniteError, loadScan, sensoriumDataKey } from './load_scan';
export { buildNormalizer, normalizedBehavior, normalizedImages, normalizedPupilCenter, normalizedResponses, responsePrecision } from './normalize';
export { hasRepeats, repeatGroups, tierCounts, tierIndices } from './tiers';
export { Rescaler, rescaledSize } from './rescale';
