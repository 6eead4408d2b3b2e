/**
 * Scans given as plain arrays (.npy / .npz) instead of a FileTree: reading them, proposing which array is which,
 * building the FileTree scan they describe, and loading it. `v1x convert` and the page's mapping dialog use these.
 */
export { arraysToScanData, type BuildOptions, type BuiltScan, idsFromContent, splitTiers } from './build';
export { type MappingProposal, proposeMapping } from './mapping';
export { type ArrayFile, isArrayFileName, MAX_NPZ_MEMBERS, readArrayFiles, readNpz } from './read_arrays';
export { arrayScanSource, loadArrayScan } from './to_scan';
export {
  ARRAY_ROLES,
  type ArrayInfo,
  type ArrayMapping,
  type ArrayRole,
  DEFAULT_SPLIT,
  type NamedArray,
  type SplitOptions,
} from './types';
