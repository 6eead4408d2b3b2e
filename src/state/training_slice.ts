/** Fine-tuning progress as reported by the training worker. Filled in when the trainer is wired to the page. */
import type { StateCreator } from 'zustand';
import type { AppState } from './store';

export interface EpochPoint {
  epoch: number;
  loss: number;
  validationCorrelation: number;
  learningRate: number;
}

export interface TrainingSlice {
  trainingStatus: 'idle' | 'running' | 'paused' | 'done' | 'error';
  trainingHistory: EpochPoint[];
  trainingError: string | null;
}

export const createTrainingSlice: StateCreator<AppState, [], [], TrainingSlice> = () => ({
  trainingStatus: 'idle',
  trainingHistory: [],
  trainingError: null,
});
