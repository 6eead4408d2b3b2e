/**
 * Which view the main area shows. Kept in the URL (`?view=<id>`, ids from src/ui/views/registry.tsx) so that a
 * link in a slide opens on the view it talks about and a reload stays there.
 */
import type { StateCreator } from 'zustand';
import type { AppState } from '../store';

export interface LayoutSlice {
  /** Id of the view tab shown; null: the first tab. */
  activeView: string | null;
  showView(id: string): void;
}

function viewFromUrl(): string | null {
  if (typeof window === 'undefined') return null;
  return new URLSearchParams(window.location.search).get('view');
}

export const createLayoutSlice: StateCreator<AppState, [], [], LayoutSlice> = (set) => ({
  activeView: viewFromUrl(),
  showView(id) {
    set({ activeView: id });
    if (typeof window === 'undefined') return;
    const url = new URL(window.location.href);
    url.searchParams.set('view', id);
    window.history.replaceState(window.history.state, '', url);
  },
});
