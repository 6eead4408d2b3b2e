/** The images that drive the neuron most: the top-k of the model's predicted responses, with its position ringed. */
import type { ImageSet } from '../../../state/derived/test_images';
import { StimulusWithRing } from './PositionOnMaps';

export function TopImages({
  images,
  predictions,
  neurons,
  neuron,
  order,
  pixel,
  onSelect,
  source,
}: {
  images: ImageSet;
  predictions: Float32Array;
  neurons: number;
  neuron: number;
  /** Image indices, strongest first. */
  order: number[];
  pixel: [number, number];
  /** Selects image i in the other views; null for an image they do not show. */
  onSelect: (i: number) => (() => void) | null;
  source: string;
}) {
  return (
    <div>
      <p className="muted small">
        Top {order.length} of {images.shape[0]} {source} by predicted response.
      </p>
      <div className="top-images" data-testid="top-images">
        {order.map((i, rank) => {
          const r = predictions[i * neurons + neuron];
          const body = (
            <>
              <StimulusWithRing
                images={images}
                index={i}
                px={pixel[0]}
                py={pixel[1]}
                label={`${images.labels[i]}, predicted ${r.toFixed(3)}`}
              />
              <figcaption>
                #{rank + 1} {images.labels[i]}
                <br />
                predicted <strong>{r.toFixed(3)}</strong>
              </figcaption>
            </>
          );
          const select = onSelect(i);
          return (
            <figure key={i} data-image={i} data-response={r}>
              {select ? (
                <button type="button" title="Show this image in the other views" onClick={select}>
                  {body}
                </button>
              ) : (
                body
              )}
            </figure>
          );
        })}
      </div>
    </div>
  );
}
