/**
 * The Experiments view's preset specs and their shipped results, bundled at build time from
 * public/demo/experiments/: `<name>.json` is a spec (as `v1x experiment` reads it), `<name>.results.json` what
 * `v1x experiment <name>.json --out <name>.results.json` wrote. Parsed defensively: a malformed file leaves its
 * preset without results (or out of the list), never a crash.
 */
import type { CellResult, ExperimentResults } from '../../../experiments/runner';
import { type ExperimentSpec, parseExperimentSpec } from '../../../experiments/spec';

export interface Preset {
  /** File stem, e.g. 'transfer'. */
  id: string;
  spec: ExperimentSpec;
  /** The spec file's text, pretty-printed, for the editor. */
  text: string;
  shipped: ShippedResults | null;
}

export interface ShippedResults {
  spec: ExperimentSpec;
  cells: CellResult[];
  complete: boolean;
  neurons: number | null;
  raw: ExperimentResults;
}

const files = import.meta.glob<unknown>('/public/demo/experiments/*.json', { eager: true, import: 'default' });

function stemOf(path: string): string {
  return path.replace(/^.*\//, '').replace(/\.json$/, '');
}

function isCell(c: unknown): c is CellResult {
  if (!c || typeof c !== 'object') return false;
  const o = c as Record<string, unknown>;
  return (
    typeof o.key === 'string' &&
    typeof o.condition === 'string' &&
    typeof o.size === 'number' &&
    typeof o.seed === 'number' &&
    typeof o.hit_cap === 'boolean'
  );
}

/** A results.json object as the view needs it, or null when it is not one. */
export function parseShippedResults(json: unknown): ShippedResults | null {
  if (!json || typeof json !== 'object') return null;
  const o = json as Record<string, unknown>;
  if (!Array.isArray(o.cells)) return null;
  try {
    const spec = parseExperimentSpec(o.spec);
    return {
      spec,
      cells: o.cells.filter(isCell),
      complete: o.complete === true,
      neurons: typeof o.neurons === 'number' ? o.neurons : null,
      raw: json as ExperimentResults,
    };
  } catch {
    return null;
  }
}

/** Order of the presets in the menu; others follow by name. */
const ORDER = ['transfer', 'neuron_split', 'readouts', 'quick'];

function loadPresets(): Preset[] {
  const out: Preset[] = [];
  for (const [path, json] of Object.entries(files)) {
    const id = stemOf(path);
    if (id.endsWith('.results')) continue;
    let spec: ExperimentSpec;
    try {
      spec = parseExperimentSpec(json);
    } catch {
      continue;
    }
    const res = Object.entries(files).find(([p]) => stemOf(p) === `${id}.results`);
    out.push({ id, spec, text: JSON.stringify(json, null, 2), shipped: res ? parseShippedResults(res[1]) : null });
  }
  const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);
  return out.sort((a, b) => rank(a.id) - rank(b.id) || a.id.localeCompare(b.id));
}

export const PRESETS: Preset[] = loadPresets();
