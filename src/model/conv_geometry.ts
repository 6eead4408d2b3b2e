/**
 * Output sizes of the core's spatial operations along one axis (PyTorch's formulas), shared by the Stacked2dCore
 * and the TransferLearningCore architectures.
 */

/** torch.nn.Conv2d's output size along one axis. */
export function convOutSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** torch.nn.MaxPool2d(kernel, stride) (no padding, floor mode) output size along one axis. */
export function poolOutSize(size: number, kernel: number, stride: number): number {
  return Math.floor((size - kernel) / stride) + 1;
}
