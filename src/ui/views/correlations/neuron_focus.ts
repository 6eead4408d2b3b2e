/**
 * Hovered and selected neuron for the correlation plots: the app-wide, linked selection when the metrics are
 * about the loaded readout's neurons, else a local one (a fine-tuned readout not yet explored has other
 * neurons than the ones the other views show, so linking by index would point at the wrong cells).
 */
import { useState } from 'react';
import { useStore } from '../../../state/store';

export interface NeuronFocus {
  hovered: number | null;
  selected: number | null;
  hover(n: number | null): void;
  select(n: number | null): void;
}

export function useNeuronFocus(linked: boolean): NeuronFocus {
  const hovered = useStore((s) => s.hoveredNeuron);
  const selected = useStore((s) => s.selectedNeuron);
  const hover = useStore((s) => s.hoverNeuron);
  const select = useStore((s) => s.selectNeuron);
  const [localHovered, setLocalHovered] = useState<number | null>(null);
  const [localSelected, setLocalSelected] = useState<number | null>(null);
  return linked
    ? { hovered, selected, hover, select }
    : { hovered: localHovered, selected: localSelected, hover: setLocalHovered, select: setLocalSelected };
}

/** A metric for display: three decimals, a dash where undefined. */
export function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}
