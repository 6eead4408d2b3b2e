/** v1x predict: eval-mode responses (B, neurons) for already-normalized images (B, C, H, W). */
import { runOnImages } from '../images_command';

export const summary =
  'responses (B, neurons) for images (B, C, H, W): --checkpoint M.pth [--config C.json] [--readout KEY] --images X.npy --out Y.npy [--backend cpu|wasm]';

export async function run(argv: string[]): Promise<void> {
  await runOnImages(argv, true, async ({ encoder, images, readout, batchSize, backend }) => {
    const y = await encoder.predict(images, { readout: readout!, batchSize });
    return { result: y, description: `responses (${y.shape.join(', ')}) of readout '${readout}' on ${backend}` };
  });
}
