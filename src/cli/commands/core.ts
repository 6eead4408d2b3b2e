/** v1x core: the core's output (B, C', H', W') for already-normalized images (B, C, H, W), eval mode. */
import { runOnImages } from '../images_command';

export const summary =
  'core output (B, C, H, W) for images (B, C, H, W): --checkpoint M.pth [--config C.json] --images X.npy --out Y.npy [--backend cpu|wasm]';

export async function run(argv: string[]): Promise<void> {
  // --readout is accepted (same arguments as predict) but the core does not depend on it.
  await runOnImages(argv, false, async ({ encoder, images, batchSize, backend }) => {
    const y = await encoder.coreOutput(images, { batchSize });
    return { result: y, description: `core output (${y.shape.join(', ')}) on ${backend}` };
  });
}
