/** One image of an NCHW stack drawn in gray (first channel, scaled to its own min..max). */
import { useEffect, useRef } from 'react';
import type { ImageSet } from '../../state/test_images';

export function ImageCanvas({ images, index, width, label }: { images: ImageSet; index: number; width: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [, c, h, w] = images.shape;
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
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
  }, [images, index, c, h, w]);
  return (
    <canvas
      ref={ref}
      width={w}
      height={h}
      className="stimulus"
      style={{ width, height: (width * h) / w }}
      role="img"
      aria-label={label}
    />
  );
}
