/**
 * Two conditions of an experiment's results compared seed by seed (src/experiments/paired.ts): per size the mean
 * difference a - b with its 95% t-interval and how many seeds favour a, as a Markdown table on stdout.
 *
 *   node --import tsx scripts/experiment_paired.ts results.json A B [--metric fraction_oracle|test_correlation]
 */
import { readFileSync } from 'node:fs';
import { type PairedMetric, pairedDifferences } from '../src/experiments/paired';
import type { CellResult, ExperimentResults } from '../src/experiments/runner';
import { parseExperimentSpec } from '../src/experiments/spec';

const argv = process.argv.slice(2);
const [input, a, b] = argv;
if (!input || !a || !b) throw new Error('usage: experiment_paired.ts results.json A B [--metric M]');
const i = argv.indexOf('--metric');
const metric = (i >= 0 ? argv[i + 1] : 'fraction_oracle') as PairedMetric;
const r = JSON.parse(readFileSync(input, 'utf8')) as ExperimentResults;
const f = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);
console.log(`| images | ${a} - ${b} (${metric}) | 95% interval | seeds where ${a} is higher |`);
console.log('|---|---|---|---|');
for (const d of pairedDifferences(parseExperimentSpec(r.spec), r.cells as CellResult[], a, b, metric)) {
  const s = d.summary;
  console.log(
    `| ${d.size} | ${f(s.mean)} | ${s.low === null ? '–' : `[${f(s.low)}, ${f(s.high)}]`} | ${d.a_better} of ${d.runs.length} |`,
  );
}
