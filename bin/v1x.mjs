#!/usr/bin/env node
// v1x: the command line over the same library code as the app. Runs the TypeScript sources through tsx,
// so there is no separate build step after `npm install`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// tsx resolved from here, not from the working directory, so v1x runs from any folder
const tsx = import.meta.resolve('tsx');
const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: process.cwd(),
});
process.exit(r.status ?? 1);
