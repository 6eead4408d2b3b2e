/**
 * An experiment's results (what `v1x experiment` writes to --out) as an SVG plot for the README: per condition the
 * mean over seeds of fraction oracle (or --metric test_correlation) against training images (log scale), the 95%
 * t-interval as an error bar, every seed as a dot, cells with a run at the epoch cap hollow with "cap". The same
 * marks as the page's Experiments view, written as plain SVG text (no DOM, no d3: runs in Node).
 *
 *   node --import tsx scripts/experiment_svg.ts results.json out.svg [--metric fraction_oracle|test_correlation]
 *        [--title "..."]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CellResult, type ExperimentResults, summarize } from '../src/experiments/runner';
import { parseExperimentSpec } from '../src/experiments/spec';

const COLORS = ['#0072B2', '#D55E00', '#555555', '#009E73', '#CC79A7', '#E69F00'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2', '4 4'];

function main(argv: string[]): void {
  const [input, output] = argv;
  if (!input || !output) throw new Error('usage: experiment_svg.ts results.json out.svg [--metric M] [--title T]');
  const opt = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const metric = (opt('--metric') ?? 'fraction_oracle') as 'fraction_oracle' | 'test_correlation';
  if (metric !== 'fraction_oracle' && metric !== 'test_correlation') throw new Error(`unknown --metric ${metric}`);
  const r = JSON.parse(readFileSync(input, 'utf8')) as ExperimentResults;
  const spec = parseExperimentSpec(r.spec);
  const cells = r.cells as CellResult[];
  const sums = summarize(spec, cells);
  const title = opt('--title') ?? spec.name;

  const W = 640,
    H = 400,
    M = { top: 40, right: 170, bottom: 50, left: 60 };
  const lo = Math.min(...spec.sizes) / 1.3,
    hi = Math.max(...spec.sizes) * 1.3;
  const x = (v: number) =>
    M.left + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (W - M.left - M.right);
  const vals: number[] = [];
  for (const c of cells) if (typeof c[metric] === 'number') vals.push(c[metric] as number);
  for (const s of sums) for (const v of [s[metric].low, s[metric].high]) if (v !== null) vals.push(v);
  const y0 = Math.floor(Math.min(0, ...vals) * 10) / 10,
    y1 = Math.ceil(Math.max(1, ...vals) * 10) / 10;
  const y = (v: number) => H - M.bottom - ((v - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const nc = spec.conditions.length;
  const ci = new Map(spec.conditions.map((c, i) => [c.name, i]));
  const px = (size: number, cond: string) => x(size) + ((ci.get(cond) ?? 0) - (nc - 1) / 2) * 6;
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15">${title}</text>`,
  );
  for (let t = y0; t <= y1 + 1e-9; t += 0.2) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="${Math.abs(t) < 1e-9 ? '#888' : '#e3e3e3'}"/>`,
      `<text x="${M.left - 6}" y="${f(y(t) + 4)}" font-size="12" text-anchor="end">${t.toFixed(1)}</text>`,
    );
  }
  for (const s of spec.sizes) {
    out.push(
      `<line x1="${f(x(s))}" x2="${f(x(s))}" y1="${H - M.bottom}" y2="${H - M.bottom + 5}" stroke="#888"/>`,
      `<text x="${f(x(s))}" y="${H - M.bottom + 18}" font-size="12" text-anchor="middle">${s}</text>`,
    );
  }
  out.push(
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" font-size="13" text-anchor="middle">training images (log scale)</text>`,
    `<text transform="translate(16,${(M.top + H - M.bottom) / 2}) rotate(-90)" font-size="13" text-anchor="middle">${metric.replace('_', ' ')} (mean, 95% t-interval over seeds)</text>`,
  );
  for (const c of cells) {
    const v = c[metric];
    if (typeof v !== 'number' || !ci.has(c.condition)) continue;
    const col = COLORS[ci.get(c.condition)! % COLORS.length];
    out.push(`<circle cx="${f(px(c.size, c.condition))}" cy="${f(y(v))}" r="1.8" fill="${col}" fill-opacity="0.45"/>`);
  }
  spec.conditions.forEach((cond, i) => {
    const col = COLORS[i % COLORS.length];
    const pts = sums.filter((s) => s.condition === cond.name && s[metric].mean !== null);
    if (pts.length > 1) {
      const d = pts.map((s, k) => `${k ? 'L' : 'M'}${f(px(s.size, cond.name))},${f(y(s[metric].mean!))}`).join('');
      out.push(
        `<path d="${d}" fill="none" stroke="${col}" stroke-width="2" stroke-dasharray="${DASHES[i % DASHES.length]}"/>`,
      );
    }
    for (const s of pts) {
      const m = s[metric];
      const cx = px(s.size, cond.name);
      if (m.low !== null && m.high !== null) {
        out.push(
          `<g stroke="${col}" stroke-width="1.5"><line x1="${f(cx)}" x2="${f(cx)}" y1="${f(y(m.low))}" y2="${f(y(m.high))}"/>` +
            `<line x1="${f(cx - 4)}" x2="${f(cx + 4)}" y1="${f(y(m.low))}" y2="${f(y(m.low))}"/>` +
            `<line x1="${f(cx - 4)}" x2="${f(cx + 4)}" y1="${f(y(m.high))}" y2="${f(y(m.high))}"/></g>`,
        );
      }
      out.push(
        `<circle cx="${f(cx)}" cy="${f(y(m.mean!))}" r="4" fill="${s.hit_cap ? 'white' : col}" stroke="${col}" stroke-width="${s.hit_cap ? 2 : 1}"/>`,
      );
      if (s.hit_cap) out.push(`<text x="${f(cx + 5)}" y="${f(y(m.mean!) - 5)}" font-size="9" fill="${col}">cap</text>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(
      `<line x1="${W - M.right + 12}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${col}" stroke-width="2" stroke-dasharray="${DASHES[i % DASHES.length]}"/>`,
      `<circle cx="${W - M.right + 26}" cy="${ly}" r="4" fill="${col}"/>`,
      `<text x="${W - M.right + 46}" y="${ly + 4}" font-size="12">${cond.name}</text>`,
    );
  });
  const ly = M.top + 10 + nc * 20;
  out.push(
    `<circle cx="${W - M.right + 26}" cy="${ly}" r="4" fill="white" stroke="#333" stroke-width="2"/>`,
    `<text x="${W - M.right + 46}" y="${ly + 4}" font-size="11">hollow, "cap": a run</text>`,
    `<text x="${W - M.right + 46}" y="${ly + 18}" font-size="11">stopped at its epoch cap</text>`,
    `<text x="${W - M.right + 12}" y="${ly + 40}" font-size="11">dots: single seeds</text>`,
    '</svg>',
  );
  writeFileSync(output, out.join('\n') + '\n');
  process.stderr.write(`wrote ${output}: ${sums.length} summaries of ${cells.length} cells\n`);
}

main(process.argv.slice(2));
