/**
 * A scan given as a few plain arrays (.npy files, or the members of an .npz) instead of a FileTree, and the
 * mapping that says which array is which. Shapes name their axes: N trials, K neurons, C channels, H x W pixels,
 * M test images, R repeats of each test image.
 */
import type { HostArray } from '../host_tensor';

/** One array and the name it is known by: 'images.npy', or 'data.npz/images' for an .npz member. */
export interface NamedArray {
  name: string;
  array: HostArray;
}

/** Only what the mapping proposal looks at (the page proposes before it has read the data of big files). */
export interface ArrayInfo {
  name: string;
  dtype: string;
  shape: number[];
}

/** Which array plays which part; values are NamedArray names. */
export interface ArrayMapping {
  /** (N, H, W) or (N, C, H, W), any numeric dtype: one image per trial. */
  images: string;
  /** (N, K), any numeric dtype: one response per trial and neuron. */
  responses: string;
  /** (N,) strings 'train' | 'validation' | 'test' | 'final_test': each trial's tier (else a seeded split). */
  tiers?: string;
  /** (N,) integers: trials showing the same image share an id (else identical images are found by content). */
  frameImageId?: string;
  /** (M, H, W) or (M, C, H, W): the test images, each shown R times ... */
  testImages?: string;
  /** (R, M, K): ... with these responses; they become the test tier, R trials per image. */
  testRepeats?: string;
  /** (K, 3) cortical coordinates of the neurons in micrometres (meta/neurons/cell_motor_coordinates). */
  coordinates?: string;
  /** (K,) integer unit ids (default 0 .. K-1, the response columns). */
  unitIds?: string;
}

export type ArrayRole = keyof ArrayMapping;

/** The roles in the order the page's mapping dialog lists them, with what each expects. */
export const ARRAY_ROLES: ReadonlyArray<{ role: ArrayRole; label: string; shape: string; required: boolean }> = [
  { role: 'images', label: 'images', shape: '(N, H, W) or (N, C, H, W)', required: true },
  { role: 'responses', label: 'responses', shape: '(N, neurons)', required: true },
  { role: 'tiers', label: 'tiers', shape: "(N,) strings 'train' / 'validation' / 'test'", required: false },
  { role: 'frameImageId', label: 'image ids', shape: '(N,) integers, repeats share one', required: false },
  { role: 'testImages', label: 'test images', shape: '(M, H, W) or (M, C, H, W)', required: false },
  { role: 'testRepeats', label: 'test repeats', shape: '(R, M, neurons)', required: false },
  { role: 'coordinates', label: 'cortical coordinates', shape: '(neurons, 3) µm', required: false },
  { role: 'unitIds', label: 'unit ids', shape: '(neurons,) integers', required: false },
];

/** The train/validation split of the single-presentation trials when no tiers are given. */
export interface SplitOptions {
  /** Share of the single-presentation images (not trials: repeats stay together) put in 'validation'. */
  validationFraction: number;
  seed: number;
}

export const DEFAULT_SPLIT: SplitOptions = { validationFraction: 0.1, seed: 0 };
