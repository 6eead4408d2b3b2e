/**
 * The simulators' FileTree writer is the project's one writer, src/io/scan/file_tree_writer.ts (plain arrays
 * converted by `v1x convert` are written by it too); re-exported here for the simulators and their callers.
 */
export {
  checkScanData,
  type FileTreeScan,
  type Ints,
  imageStatistics,
  responseStatistics,
  type ScanData,
  type Stats,
  scanFileList,
  scanFiles,
  statisticsTrials,
  writeScanZip,
  writeStoredScanZip,
} from '../io/scan/file_tree_writer';
