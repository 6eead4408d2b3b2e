/**
 * The explorer's views, in display order. Each view is a component in src/ui/views/ that reads the store
 * itself and renders nothing (null) when what it needs is not loaded yet. App lays them out; adding a view
 * is one line here.
 */
import type { ComponentType } from 'react';
import { useStore } from '../../state/store';
import { isLivePhase } from '../hooks/use_field_geometry';
import { ArchitectureView } from './ArchitectureView';
import { CellTypesView } from './CellTypesView';
import { CoreView } from './CoreView';
import { CorrelationsView } from './CorrelationsView';
import { ExperimentsView } from './ExperimentsView';
import { GaussiansView } from './GaussiansView';
import { NeuronInspectorView } from './NeuronInspectorView';
import { PredictionView } from './PredictionView';
import { RfPositionsView } from './RfPositionsView';

export interface ViewTab {
  id: string;
  title: string;
  /** A title that depends on what is loaded (a hook, called by the tab's label); `title` otherwise. */
  useTitle?: () => string;
  Component: ComponentType;
}

/** "Learned Gaussians", or "Learned masks" when the readout shown (loaded or training) is factorized. */
function useGaussiansTitle(): string {
  const factorized = useStore((s) => {
    const live = s.snapshot !== null && isLivePhase(s.trainingPhase);
    return (live ? s.snapshot!.kind : s.geometry?.kind) === 'factorized';
  });
  return factorized ? 'Learned masks' : 'Learned Gaussians';
}

function Architecture() {
  const model = useStore((s) => s.model);
  return model ? <ArchitectureView model={model} /> : null;
}

function ModelOnly({ View }: { View: ComponentType }) {
  const model = useStore((s) => s.model);
  return model ? <View /> : null;
}

export const VIEW_TABS: ViewTab[] = [
  { id: 'positions', title: 'Receptive fields', Component: () => <ModelOnly View={RfPositionsView} /> },
  {
    id: 'gaussians',
    title: 'Learned Gaussians',
    useTitle: useGaussiansTitle,
    Component: () => <ModelOnly View={GaussiansView} />,
  },
  { id: 'prediction', title: 'Prediction', Component: () => <ModelOnly View={PredictionView} /> },
  { id: 'correlations', title: 'Correlations', Component: CorrelationsView },
  { id: 'inspector', title: 'Neuron inspector', Component: () => <ModelOnly View={NeuronInspectorView} /> },
  { id: 'cell-types', title: 'Cell types', Component: () => <ModelOnly View={CellTypesView} /> },
  { id: 'core', title: 'Core', Component: () => <ModelOnly View={CoreView} /> },
  { id: 'architecture', title: 'Architecture', Component: Architecture },
  { id: 'experiments', title: 'Experiments', Component: ExperimentsView },
];
