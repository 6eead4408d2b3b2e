/** Linked neuron selection: every view highlights the hovered and the selected neuron. */
import type { StateCreator } from 'zustand';
import type { LoadedModel } from '../services/model_service';
import type { AppState } from '../store';

/**
 * A group of neurons one view asks the others to emphasize (a Cell types cluster on the receptive-field map).
 * It names the model whose readout's neuron indices it holds: after another model loads it no longer applies.
 */
export interface NeuronHighlight {
  neurons: readonly number[];
  /** What the group is, e.g. 'cluster 2 (Cell types)'. */
  label: string;
  /** CSS color of the group where it was made (its cluster color). */
  color: string;
  model: LoadedModel;
}

export interface SelectionSlice {
  /** Index into the loaded readout's neurons, or null. */
  selectedNeuron: number | null;
  hoveredNeuron: number | null;
  /** Which image of the current image set the views show. */
  selectedImage: number;
  highlightedNeurons: NeuronHighlight | null;
  selectNeuron(n: number | null): void;
  hoverNeuron(n: number | null): void;
  selectImage(i: number): void;
  highlightNeurons(h: NeuronHighlight | null): void;
}

export const createSelectionSlice: StateCreator<AppState, [], [], SelectionSlice> = (set) => ({
  selectedNeuron: null,
  hoveredNeuron: null,
  selectedImage: 0,
  highlightedNeurons: null,
  selectNeuron: (n) => set({ selectedNeuron: n }),
  hoverNeuron: (n) => set({ hoveredNeuron: n }),
  selectImage: (i) => set({ selectedImage: i }),
  highlightNeurons: (h) => set({ highlightedNeurons: h }),
});
