/** Minimal `--flag value` parser for the v1x commands; repeated flags collect into arrays. */
export class UsageError extends Error {}

export interface ParsedArgs {
  get(name: string): string | undefined;
  require(name: string): string;
  all(name: string): string[];
  has(name: string): boolean;
  number(name: string, fallback: number): number;
}

export function parseArgs(argv: string[], known: string[], booleans: string[] = []): ParsedArgs {
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const name = a.slice(2);
    if (booleans.includes(name)) {
      values.set(name, ['true']);
      continue;
    }
    if (!known.includes(name))
      throw new UsageError(
        `unknown option '--${name}' (known: ${[...known, ...booleans].map((k) => '--' + k).join(', ')})`,
      );
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`option '--${name}' needs a value`);
    values.set(name, [...(values.get(name) ?? []), v]);
  }
  return {
    get: (n) => values.get(n)?.at(-1),
    require: (n) => {
      const v = values.get(n)?.at(-1);
      if (v === undefined) throw new UsageError(`missing required option '--${n}'`);
      return v;
    },
    all: (n) => values.get(n) ?? [],
    has: (n) => values.has(n),
    number: (n, fallback) => {
      const v = values.get(n)?.at(-1);
      if (v === undefined) return fallback;
      const x = Number(v);
      if (!Number.isFinite(x)) throw new UsageError(`option '--${n}' must be a number, got '${v}'`);
      return x;
    },
  };
}
