/** PyTorch `.pth` checkpoints: what the rest of the app calls. */
export { readCheckpoint, readCheckpointContents, type CheckpointContents } from './torch_checkpoint';
export { saveCheckpoint, type SaveOptions } from './torch_save';
