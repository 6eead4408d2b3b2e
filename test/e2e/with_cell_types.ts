/**
 * For the Cell types browser test: a copy of a scan zip with meta/neurons/cell_types.npy added (int32 labels,
 * one per neuron), as a simulated cell-type population carries it. Run with tsx:
 *   node --import tsx test/e2e/with_cell_types.ts IN.zip LABELS.json OUT.zip
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { writeNpy } from '../../src/io/npy';
import { writeZip, ZipArchive } from '../../src/io/zip_archive';

const [input, labelsPath, output] = process.argv.slice(2);
const labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as number[];
const zip = await ZipArchive.open(new Uint8Array(readFileSync(input)), input);
const unitIds = zip.names().find((n) => n.endsWith('meta/neurons/unit_ids.npy'));
if (!unitIds) throw new Error(`${input}: no meta/neurons/unit_ids.npy`);
const files = [];
for (const name of zip.names()) {
  if (!name.endsWith('meta/neurons/cell_types.npy')) files.push({ name, data: await zip.read(name) });
}
const data = Int32Array.from(labels);
const npy = writeNpy({ dtype: 'int32', shape: [data.length], data });
files.push({ name: unitIds.replace(/unit_ids\.npy$/, 'cell_types.npy'), data: npy });
writeFileSync(output, await writeZip(files));
