/** Drawing one image of an NCHW stack in gray (first channel, scaled to its own min..max). */
import { type RefObject, useEffect, useRef } from 'react';
import type { ImageSet } from '../../state/derived/test_images';

/** Paints image `index` into a context whose canvas is width x height of the images. */
export function paintStimulus(ctx: CanvasRenderingContext2D, images: ImageSet, index: number): void {
  const [, c, h, w] = images.shape;
  const offset = index * c * h * w;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < h * w; i++) {
    const v = images.data[offset + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const pixels = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const g = (images.data[offset + i] - lo) * scale;
    pixels.data[4 * i] = g;
    pixels.data[4 * i + 1] = g;
    pixels.data[4 * i + 2] = g;
    pixels.data[4 * i + 3] = 255;
  }
  ctx.putImageData(pixels, 0, 0);
}

/** The image as a PNG data URL, for an SVG <image>. */
export function stimulusDataUrl(images: ImageSet, index: number): string {
  const [, , h, w] = images.shape;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return '';
  paintStimulus(ctx, images, index);
  return canvas.toDataURL('image/png');
}

/**
 * A ref for a canvas of the images' width x height that shows image `index`, repainted when the stack or the
 * index changes (the canvas keeps its pixels across other renders).
 */
export function useStimulusCanvas(images: ImageSet, index: number): RefObject<HTMLCanvasElement | null> {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (ctx) paintStimulus(ctx, images, index);
  }, [images, index]);
  return ref;
}
