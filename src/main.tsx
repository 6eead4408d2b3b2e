import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { backendFromQuery } from './backend/select';
import { useStore } from './state/store';
import { App } from './ui/App';
import { DEMO, DEMO_BASE } from './ui/demo';
import { installTestHook } from './ui/test_hook';
import './ui/styles.css';

installTestHook();
// `?demo=off` starts on an empty page instead of the bundled demo (also how the browser tests start).
const demo =
  DEMO && new URLSearchParams(window.location.search).get('demo') !== 'off'
    ? { manifest: DEMO, base: DEMO_BASE }
    : null;
// The backend first (the model is built on it), then the files: URL parameters, the last session or the demo.
void useStore
  .getState()
  .chooseBackend(backendFromQuery(window.location.search))
  .then(() => useStore.getState().startSession(window.location.search, demo));

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
