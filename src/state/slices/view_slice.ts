/** How the views draw things; small, serializable, worth keeping across reloads. */
import type { StateCreator } from 'zustand';
import type { AppState } from '../store';

/** Perceptually uniform maps that stay readable with color-vision deficiencies. */
export type ColorMapName = 'viridis' | 'cividis';
/** Which cortical axis colors the receptive-field marks. */
export type CorticalColorAxis = 'x' | 'y';
/** A factorized readout's neuron position: its mask's peak (default) or centre of mass (centroid of m^2). */
export type MaskPosition = 'peak' | 'centroid';

export interface ViewSettings {
  colorMap: ColorMapName;
  colorAxis: CorticalColorAxis;
  showStimulus: boolean;
  /** Fit the receptive-field plot to the neurons instead of the whole stimulus. */
  zoomToNeurons: boolean;
  /** The position network's map from cortex to visual field, drawn as a warped lattice. */
  showRetinotopy: boolean;
  markRadius: number;
  /** Where a factorized readout's neuron sits in the field views: its mask's peak or centre of mass. */
  maskPosition: MaskPosition;
}

export interface ViewSlice {
  view: ViewSettings;
  setView(patch: Partial<ViewSettings>): void;
}

export const defaultViewSettings: ViewSettings = {
  colorMap: 'viridis',
  colorAxis: 'x',
  showStimulus: true,
  zoomToNeurons: true,
  showRetinotopy: true,
  markRadius: 2,
  maskPosition: 'peak',
};

export const createViewSlice: StateCreator<AppState, [], [], ViewSlice> = (set, get) => ({
  view: defaultViewSettings,
  setView: (patch) => {
    set((s) => ({ view: { ...s.view, ...patch } }));
    get().saveView(get().view);
  },
});
