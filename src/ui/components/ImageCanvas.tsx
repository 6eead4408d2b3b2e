/** One image of an NCHW stack drawn in gray (first channel, scaled to its own min..max). */
import type { ImageSet } from '../../state/derived/test_images';
import { useStimulusCanvas } from './stimulus';

export function ImageCanvas({
  images,
  index,
  width,
  label,
}: {
  images: ImageSet;
  index: number;
  width: number;
  label: string;
}) {
  const ref = useStimulusCanvas(images, index);
  const [, , h, w] = images.shape;
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
