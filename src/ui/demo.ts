/**
 * The bundled demo's manifest, read at build time from public/demo/demo.json (absent: no demo), so the page
 * knows whether a demo exists without a request that could fail.
 */
import type { DemoManifest } from '../state/services/url_files';

const found = import.meta.glob<DemoManifest>('/public/demo/demo.json', { eager: true, import: 'default' });

export const DEMO: DemoManifest | null = Object.values(found)[0] ?? null;
/** Where the demo's files are served from, relative to the page. */
export const DEMO_BASE = 'demo/';
