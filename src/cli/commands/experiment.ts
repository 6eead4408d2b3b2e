/**
 * v1x experiment: runs an experiment spec (src/experiments/spec.ts) with the runner (src/experiments/runner.ts).
 * Progress goes to stderr; each finished cell is one JSON line on stdout and is appended to `<out>.jsonl`
 * (results.json -> results.jsonl), so `--resume` can skip the cells already there after an interruption. At the
 * end `--out` gets the spec, every cell, the summaries (mean and 95% t-interval over seeds, hit_cap flags) and the
 * selection rule in words, and `<out>.csv` one row per cell and seed. Paths in the spec are relative to its file.
 */
import { appendFileSync, existsSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  type CellResult,
  cellCount,
  cellsCsv,
  type ExperimentEvent,
  runExperiment,
  type SplitCoreInfo,
} from '../../experiments/runner';
import { parseExperimentSpec } from '../../experiments/spec';
import { InputError } from '../../io/host_tensor';
import { loadScanFromPath } from '../../io/scan/node_dir_source';
import { parseArgs, UsageError } from '../args';
import { parseBackend, readCheckpointFile, readConfigFile, startBackend } from '../load_model';

export const summary =
  'run an experiment spec (conditions x training-set sizes x seeds): spec.json --out results.json ' +
  '[--resume] [--max-cells N] [--backend cpu|wasm]';

/** results.json -> results.jsonl / results.csv (any other name: name.jsonl / name.csv). */
export function sidePaths(out: string): { jsonl: string; csv: string } {
  const stem = out.replace(/\.json$/i, '');
  return { jsonl: `${stem}.jsonl`, csv: `${stem}.csv` };
}

/** The split core's line of a results.jsonl (`{"split_core": {...}}`), when a run trained one. */
export function readSplitCore(path: string): SplitCoreInfo | undefined {
  if (!existsSync(path)) return undefined;
  for (const l of readFileSync(path, 'utf8').split('\n')) {
    if (!l.startsWith('{"split_core"')) continue;
    try {
      return (JSON.parse(l) as { split_core: SplitCoreInfo }).split_core;
    } catch {
      // a line cut short: the core is trained again if a cell needs it
    }
  }
  return undefined;
}

/** The finished cells of a results.jsonl; a last line cut short by an interruption is skipped. */
export function readCells(path: string): CellResult[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const cells: CellResult[] = [];
  lines.forEach((l, i) => {
    try {
      const c = JSON.parse(l) as CellResult;
      if (typeof c.key === 'string') cells.push(c);
    } catch (e) {
      if (i !== lines.length - 1) throw new InputError(path, `line ${i + 1} is not JSON (${(e as Error).message})`);
    }
  });
  return cells;
}

function progress(e: ExperimentEvent): string | null {
  switch (e.kind) {
    case 'status':
      return e.message;
    case 'cell-skip':
      return `[${e.index}/${e.total}] ${e.condition}, ${e.size} images, seed ${e.seed}: done before (--resume)`;
    case 'cell-start':
      return `[${e.index}/${e.total}] ${e.condition}, ${e.size} images, seed ${e.seed}`;
    case 'epoch':
      return `  epoch ${e.epoch}/${e.maxEpochs}: validation correlation ${e.valCorrelation.toFixed(4)}`;
    case 'cell-done': {
      const c = e.cell;
      return (
        `[${e.index}/${e.total}] done: fraction oracle ${c.fraction_oracle?.toFixed(4) ?? 'n/a'}, test correlation ` +
        `${c.test_correlation?.toFixed(4) ?? 'n/a'}, ` +
        `${c.epochs} epochs (${c.stop_reason}${c.hit_cap ? ', HIT THE CAP' : ''}), ` +
        `${c.seconds.toFixed(1)} s`
      );
    }
  }
}

export async function run(argv: string[]): Promise<void> {
  const [specPath, ...rest] = argv;
  if (!specPath || specPath.startsWith('--'))
    throw new UsageError('usage: v1x experiment spec.json --out results.json [--resume]');
  const args = parseArgs(rest, ['out', 'max-cells', 'backend'], ['resume', 'quiet']);
  const out = args.require('out');
  const maxCellsArg = args.get('max-cells');
  const maxCells = maxCellsArg === undefined ? undefined : args.number('max-cells', 0);
  if (maxCells !== undefined && !(Number.isInteger(maxCells) && maxCells >= 0)) {
    throw new UsageError(`--max-cells must be an integer >= 0, got ${maxCellsArg}`);
  }
  const backend = parseBackend(args);
  const quiet = args.has('quiet');
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(`v1x: ${s}\n`);
  };

  if (!existsSync(specPath)) throw new InputError(specPath, 'no such file');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(specPath, 'utf8'));
  } catch (e) {
    throw new InputError(specPath, `not JSON (${(e as Error).message})`);
  }
  let spec: ReturnType<typeof parseExperimentSpec>;
  try {
    spec = parseExperimentSpec(json);
  } catch (e) {
    throw new InputError(specPath, (e as Error).message);
  }
  const base = dirname(resolve(specPath));
  const at = (p: string): string => resolve(base, p);
  const parsed = readConfigFile(spec.model.config ? at(spec.model.config) : undefined);
  const scans = [];
  for (const path of spec.scans) {
    const scan = await loadScanFromPath(at(path));
    for (const w of scan.warnings) log(`${path}: ${w}`);
    scans.push(scan);
  }
  if (!parsed.given.includes('input_shape')) parsed.config.input_shape = [...scans[0].imageShape];
  const vggPath = spec.model.vgg16 ? at(spec.model.vgg16) : null;
  if (vggPath && !existsSync(vggPath))
    throw new InputError(vggPath, "no such file (model.vgg16: torchvision's vgg16 state_dict, vgg16-397923af.pth)");
  const checkpoint = spec.model.checkpoint
    ? { stateDict: await readCheckpointFile(at(spec.model.checkpoint)), file: spec.model.checkpoint }
    : null;

  const { jsonl, csv } = sidePaths(out);
  const done = args.has('resume') ? readCells(jsonl) : [];
  const splitCore = args.has('resume') ? readSplitCore(jsonl) : undefined;
  if (!args.has('resume') && existsSync(jsonl)) {
    log(`${jsonl} exists: starting over (pass --resume to keep its finished cells)`);
    writeFileSync(jsonl, '');
  }
  if (args.has('resume')) {
    log(`resuming: ${done.length} finished cells in ${jsonl}`);
    // a line cut short by the interruption is dropped, so that this run's lines start on a line of their own
    const keep = [...(splitCore ? [{ split_core: splitCore }] : []), ...done];
    writeFileSync(jsonl, keep.map((c) => JSON.stringify(c) + '\n').join(''));
  }
  // A resumed file keeps its cells; the cells of this run are appended.
  if (!existsSync(jsonl)) writeFileSync(jsonl, '');

  await startBackend(backend);
  const cells = cellCount(spec);
  log(
    `${spec.name}: ${spec.conditions.map((c) => c.name).join(', ')} x ${spec.sizes.length} sizes x ` +
      `${spec.seeds.length} seeds = ${cells} cells on ${scans.map((s) => `${s.name} (${s.nNeurons} neurons)`).join(', ')}`,
  );
  const results = await runExperiment(
    {
      spec,
      scans,
      config: parsed,
      checkpoint,
      vgg16: spec.model.vgg16 ? { source: await openAsBlob(vggPath!), file: spec.model.vgg16 } : null,
    },
    {
      done,
      maxCells,
      splitCore,
      onSplitCore: (info) => {
        appendFileSync(jsonl, JSON.stringify({ split_core: info }) + '\n');
      },
      onEvent: (e) => {
        const s = progress(e);
        if (s !== null) log(s);
      },
      onCell: (c) => {
        const line = JSON.stringify(c);
        appendFileSync(jsonl, line + '\n');
        process.stdout.write(line + '\n');
      },
    },
  );
  writeFileSync(out, JSON.stringify(results, null, 1) + '\n');
  writeFileSync(csv, cellsCsv(results.cells));
  log(
    `wrote ${out} and ${csv}` +
      (results.complete ? '' : ` (incomplete: ${results.cells.length} of ${cells} cells; --resume continues)`),
  );
  for (const s of results.summaries) {
    const f = s.fraction_oracle;
    const ci = f.low === null ? '' : ` [${f.low.toFixed(3)}, ${f.high!.toFixed(3)}]`;
    log(
      `  ${s.condition.padEnd(12)} ${String(s.size).padStart(6)} images: ` +
        `fraction oracle ${f.mean?.toFixed(3) ?? 'n/a'}${ci}` +
        ` (n=${f.n})${s.hit_cap ? ` hit_cap: seeds ${s.hit_cap_seeds.join(', ')}` : ''}`,
    );
  }
}
