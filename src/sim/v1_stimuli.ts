/**
 * Classic physiology stimuli for probing the simulated population (tuning curves in tests, and in the app
 * for showing what a neuron prefers): sinusoidal gratings, optionally in a circular aperture on gray.
 * Output is a raw image (H x W, row-major) in pixel units 0..255, mean 127.5, the units `Population.rates`
 * takes. Same frame as gabor.ts, so a grating with a neuron's (orientation, sf, phase) centred on its field
 * is that neuron's optimal stimulus.
 */
export interface GratingOptions {
  /** Direction of the wave vector, radians (gabor.ts frame). */
  orientation: number;
  /** Cycles per pixel. */
  sf: number;
  /** Phase at `center`, radians. */
  phase: number;
  /** Michelson contrast in [0, 1]. Default 1. */
  contrast?: number;
  /** Phase reference and aperture centre, pixels (x = column, y = row). Default: image centre. */
  center?: [number, number];
  /** Aperture radius, pixels; Infinity (the default) fills the image. */
  radius?: number;
}

export function grating(height: number, width: number, o: GratingOptions): Float32Array {
  const contrast = o.contrast ?? 1;
  if (!(contrast >= 0 && contrast <= 1)) throw new Error(`grating contrast must be in [0, 1], got ${contrast}`);
  const [cx, cy] = o.center ?? [(width - 1) / 2, (height - 1) / 2];
  const radius = o.radius ?? Infinity;
  const k = 2 * Math.PI * o.sf;
  const cosT = Math.cos(o.orientation);
  const sinT = Math.sin(o.orientation);
  const img = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const inside = dx * dx + dy * dy <= radius * radius;
      img[y * width + x] = inside ? 127.5 * (1 + contrast * Math.cos(k * (dx * cosT + dy * sinT) + o.phase)) : 127.5;
    }
  }
  return img;
}

/** Stacks images of equal size into one (B, 1, H, W) batch. */
export function stackImages(images: Float32Array[]): Float32Array {
  if (images.length === 0) return new Float32Array(0);
  const size = images[0].length;
  const out = new Float32Array(images.length * size);
  images.forEach((im, i) => {
    if (im.length !== size) throw new Error(`stackImages: image ${i} has ${im.length} pixels, expected ${size}`);
    out.set(im, i * size);
  });
  return out;
}
