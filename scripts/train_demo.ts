/**
 * `npm run train:demo`: builds the bundled demo from nothing but seeds.
 *
 * Stage 1 (data): simulates the demo animals of src/sim/demo_animals.ts (the project's own V1 ground truth,
 * src/sim/v1_population.ts) and writes each as a FileTree scan zip with its ground-truth folder beside it:
 * the training animals under `--work` (default .cache/demo/), the held-out animal under `--out`
 * (default public/demo/), where the app loads it from.
 * Stage 2 (core): trains the shared core on the training animals end to end. It needs the end-to-end
 * trainer of issue 6 (src/train), which has not landed yet; until then the script stops after stage 1
 * and says so (exit code 2), or ends cleanly with `--data-only`.
 *
 * Options: --work DIR, --out DIR, --data-only, --force (re-simulate scans that already exist).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ZipInput } from '../src/io/zip_archive';
import { DEMO_ANIMALS, type DemoAnimal, simulateDemoAnimal } from '../src/sim/demo_animals';
import { writeScanZip } from '../src/sim/scan_writer';
import { v1TruthFiles } from '../src/sim/v1_truth';

interface Args { work: string; out: string; dataOnly: boolean; force: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { work: '.cache/demo', out: 'public/demo', dataOnly: false, force: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--work') a.work = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--data-only') a.dataOnly = true;
    else if (k === '--force') a.force = true;
    else throw new Error(`unknown argument '${k}' (known: --work DIR, --out DIR, --data-only, --force)`);
  }
  return a;
}

/** Writes zip-style entries (directory entries end in '/') as files under `dir`. */
function writeEntries(dir: string, entries: ZipInput[]): void {
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.name.endsWith('/')) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, e.data);
    }
  }
}

async function writeAnimal(animal: DemoAnimal, dir: string, force: boolean): Promise<void> {
  const zipPath = join(dir, `${animal.name}.zip`);
  if (!force && existsSync(zipPath) && existsSync(join(dir, `${animal.name}-truth`, 'truth.json'))) {
    process.stderr.write(`${animal.name}: exists, kept (--force to rebuild)\n`);
    return;
  }
  const t0 = performance.now();
  let last = 0;
  const v = simulateDemoAnimal(animal, (done, total) => {
    const now = performance.now();
    if (now - last > 2000 || done === total) {
      process.stderr.write(`${animal.name}: rates for ${done}/${total} images\r`);
      last = now;
    }
  });
  process.stderr.write('\n');
  mkdirSync(dir, { recursive: true });
  writeFileSync(zipPath, await writeScanZip(v.scan));
  // the app needs the held-out animal's true positions and parameters, not 2 MB of true rates
  const truth = v1TruthFiles(v).filter((f) => animal.role === 'train' || !f.name.endsWith('true_rates.npy'));
  writeEntries(dir, truth);
  const summary = JSON.parse(new TextDecoder().decode(truth.find((f) => f.name.endsWith('truth.json'))!.data));
  process.stderr.write(
    `${animal.name}: ${v.scan.neurons} neurons, ${v.scan.tiers.length} trials, gain ${v.truth.gain.toFixed(4)}, ` +
    `median oracle ${summary.oracleJackknife.median.toFixed(3)}, ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${zipPath}\n`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const animal of DEMO_ANIMALS) await writeAnimal(animal, animal.role === 'heldout' ? args.out : args.work, args.force);
  if (args.dataOnly) return;
  process.stderr.write(
    'stage 2 (train the shared core end to end on the training animals) needs the end-to-end trainer of issue 6 in src/train, ' +
    'which is not there yet; the data above is ready for it.\n',
  );
  process.exitCode = 2;
}

main().catch((e: unknown) => {
  process.stderr.write(`train:demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
