/**
 * v1x entry point. Each command lives in commands/<name>.ts and exports
 * `summary: string` and `run(argv: string[]): Promise<void>`; errors become one line on stderr and exit 1.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Command {
  summary: string;
  run(argv: string[]): Promise<void>;
}

const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === 'help') {
    const lines = await Promise.all(
      names.map(async (n) => `  ${n.padEnd(10)} ${((await import(join(dir, n + '.ts'))) as Command).summary}`),
    );
    process.stdout.write(`usage: v1x <command> [options]\n\ncommands:\n${lines.join('\n')}\n`);
    return;
  }
  if (!names.includes(name)) throw new Error(`unknown command '${name}' (commands: ${names.join(', ')})`);
  const cmd = (await import(join(dir, name + '.ts'))) as Command;
  await cmd.run(rest);
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`v1x: ${msg.split('\n')[0]}\n`);
    if (process.env.V1X_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  },
);
