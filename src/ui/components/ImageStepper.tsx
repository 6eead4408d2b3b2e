/** The selected image of the stack, with its label and buttons to step to the previous or next one. */
import type { ImageSet } from '../../state/derived/test_images';
import { useStore } from '../../state/store';
import { ImageCanvas } from './ImageCanvas';

export function ImageStepper({
  images,
  current,
  width,
  labelTestId,
}: {
  images: ImageSet;
  /** The image shown: the selection, clamped to the stack by the caller. */
  current: number;
  /** CSS width of the image. */
  width: number;
  /** data-testid of the label, which the browser tests read. */
  labelTestId: string;
}) {
  const selectImage = useStore((s) => s.selectImage);
  const count = images.shape[0];
  return (
    <div className="stimulus-box">
      <ImageCanvas images={images} index={current} width={width} label={images.labels[current]} />
      <div className="row small">
        <button
          type="button"
          className="button-quiet"
          aria-label="Previous image"
          disabled={current === 0}
          onClick={() => selectImage(current - 1)}
        >
          ‹
        </button>
        <span data-testid={labelTestId}>
          {images.labels[current]} ({current + 1}/{count})
        </span>
        <button
          type="button"
          className="button-quiet"
          aria-label="Next image"
          disabled={current >= count - 1}
          onClick={() => selectImage(current + 1)}
        >
          ›
        </button>
      </div>
    </div>
  );
}
