/** One image of an NCHW stack drawn in gray (first channel, scaled to its own min..max). */
import { useEffect, useRef } from 'react';
import type { ImageSet } from '../../state/test_images';
import { paintStimulus } from './stimulus';

export function ImageCanvas({ images, index, width, label }: { images: ImageSet; index: number; width: number; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [, , h, w] = images.shape;
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (ctx) paintStimulus(ctx, images, index);
  }, [images, index]);
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
