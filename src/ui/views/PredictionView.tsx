/** The images shown to the model (built-in or the user's .npy) and the model's prediction for one of them. */
import { useStore } from '../../state/store';
import { FileDrop } from '../components/FileDrop';
import { ImageStepper } from '../components/ImageStepper';
import { ResponsesView } from './ResponsesView';

export function PredictionView() {
  const images = useStore((s) => s.images);
  const prediction = useStore((s) => s.prediction);
  const predicting = useStore((s) => s.predicting);
  const image = useStore((s) => s.selectedImage);
  const loadImagesFile = useStore((s) => s.loadImagesFile);
  if (!images) return null;
  const count = images.shape[0];
  const current = Math.min(image, count - 1);
  return (
    <section className="panel" aria-labelledby="prediction-title">
      <h2 id="prediction-title">Prediction</h2>
      <div className="row top">
        <ImageStepper images={images} current={current} width={256} labelTestId="image-label" />
        <div className="grow small">
          <p className="muted">
            {images.name}: {count} image{count === 1 ? '' : 's'}, {images.shape.slice(1).join('×')}
          </p>
          <FileDrop
            label="Images (.npy)…"
            hint={<>float32 (batch, channels, height, width), normalized like the training images</>}
            accept=".npy"
            testId="images-input"
            onFiles={(files) => {
              if (files[0] instanceof File) void loadImagesFile(files[0]);
            }}
          />
        </div>
      </div>
      {prediction && current < prediction.shape[0] ? (
        <ResponsesView prediction={prediction} image={current} />
      ) : (
        <p className="muted" data-testid="predicting">
          {predicting ? 'Running the model…' : 'No prediction yet.'}
        </p>
      )}
    </section>
  );
}
