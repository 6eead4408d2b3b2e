/**
 * Categorical colors for clusters and cell types: Tableau 10 (d3.schemeTableau10), chosen for telling apart
 * up to ten categories, and mostly distinct under common color-vision deficiencies; the views also name every
 * cluster in words (legend, focus line), so color is never the only cue.
 */
import * as d3 from 'd3';

export function categoryColor(i: number): string {
  return i < 0 ? '#9aa1ab' : d3.schemeTableau10[i % d3.schemeTableau10.length];
}

/** Points not yet clustered. */
export const UNCLUSTERED = '#7f8794';
