import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Relative base so the built app works from any folder (file server, GitHub pages, e2e static server).
export default defineConfig({
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
});
