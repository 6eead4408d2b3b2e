import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App';
import { installTestHook } from './ui/test_hook';
import { backendFromQuery } from './backend/select';
import { useStore } from './state/store';
import './ui/styles.css';

installTestHook();
// The backend first (the model is built on it), then whatever the last session had loaded.
void useStore.getState().chooseBackend(backendFromQuery(window.location.search))
  .then(() => useStore.getState().restoreSession());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
