/** Linked neuron selection: every view highlights the hovered and the selected neuron. */
import type { StateCreator } from 'zustand';
import type { AppState } from '../store';

export interface SelectionSlice {
  /** Index into the loaded readout's neurons, or null. */
  selectedNeuron: number | null;
  hoveredNeuron: number | null;
  /** Which image of the current image set the views show. */
  selectedImage: number;
  selectNeuron(n: number | null): void;
  hoverNeuron(n: number | null): void;
  selectImage(i: number): void;
}

export const createSelectionSlice: StateCreator<AppState, [], [], SelectionSlice> = (set) => ({
  selectedNeuron: null,
  hoveredNeuron: null,
  selectedImage: 0,
  selectNeuron: (n) => set({ selectedNeuron: n }),
  hoverNeuron: (n) => set({ hoveredNeuron: n }),
  selectImage: (i) => set({ selectedImage: i }),
});
