import { CliError } from './CliError.js';

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  description: string;
  /** The environment variable that supplies the value when the flag is absent. */
  env?: string;
  default?: string | number | boolean;
  short?: string;
  /** Shown in --help instead of the type, e.g. `URL` or `HH:MM:SS`. */
  placeholder?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S['type'] extends 'number'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : string;

/** Flags with a default are always present; the others may be undefined. */
export type FlagValues<T extends FlagSpecs> = {
  [K in keyof T]: T[K] extends { default: string | number | boolean }
    ? ValueOf<T[K]>
    : ValueOf<T[K]> | undefined;
};

export interface CliSpec<T extends FlagSpecs> {
  name: string;
  summary: string;
  flags: T;
  examples?: readonly string[];
}

export type ParseResult<T extends FlagSpecs> =
  | { help: true; text: string }
  | { help: false; values: FlagValues<T> };

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function convert(
  name: string,
  spec: FlagSpec,
  raw: string,
  source: string,
): string | number | boolean {
  if (spec.type === 'string') return raw;
  if (spec.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new CliError(
        'BAD_VALUE',
        `${source} for --${kebab(name)} must be a number, got '${raw}'`,
      );
    return n;
  }
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)?$/i.test(raw)) return false;
  throw new CliError(
    'BAD_VALUE',
    `${source} for --${kebab(name)} must be true or false, got '${raw}'`,
  );
}

export function helpText<T extends FlagSpecs>(spec: CliSpec<T>): string {
  const rows = Object.entries(spec.flags).map(([name, f]) => {
    const flag = `${f.short ? `-${f.short}, ` : '    '}--${kebab(name)}${f.type === 'boolean' ? '' : ` <${f.placeholder ?? f.type}>`}`;
    const extra = [
      f.env ? `env ${f.env}` : '',
      f.default !== undefined && f.default !== '' ? `default ${String(f.default)}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return [flag, `${f.description}${extra ? ` (${extra})` : ''}`] as const;
  });
  rows.push(['-h, --help', 'print this help and exit']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  const lines = [
    `${spec.name}: ${spec.summary}`,
    '',
    `Usage: ${spec.name} [options]`,
    '',
    'Options:',
  ];
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${text}`);
  if (spec.examples?.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Reads `--flag value`, `--flag=value`, `--no-flag` and short forms; a flag absent from argv takes
 * its environment variable, then its default. Unknown flags are errors, not silently ignored.
 */
export function parseFlags<T extends FlagSpecs>(
  spec: CliSpec<T>,
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
): ParseResult<T> {
  const byFlag = new Map<string, string>();
  for (const [name, f] of Object.entries(spec.flags)) {
    byFlag.set(`--${kebab(name)}`, name);
    if (f.short) byFlag.set(`-${f.short}`, name);
  }
  const given = new Map<string, string | number | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') return { help: true, text: helpText(spec) };
    const eq = arg.indexOf('=');
    const key = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    let name = byFlag.get(key);
    let negated = false;
    if (!name && key.startsWith('--no-')) {
      name = byFlag.get(`--${key.slice(5)}`);
      negated = name !== undefined && spec.flags[name]?.type === 'boolean';
      if (!negated) name = undefined;
    }
    if (!name) throw new CliError('BAD_FLAG', `unknown option ${key} (see --help)`);
    const f = spec.flags[name] as FlagSpec;
    if (f.type === 'boolean') {
      given.set(
        name,
        negated ? false : eq > 0 ? convert(name, f, arg.slice(eq + 1), 'the value') : true,
      );
      continue;
    }
    let raw: string | undefined;
    if (eq > 0 && arg.startsWith('--')) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      i++;
    }
    if (raw === undefined) throw new CliError('MISSING_VALUE', `${key} needs a value`);
    given.set(name, convert(name, f, raw, 'the value'));
  }
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    if (given.has(name)) values[name] = given.get(name);
    else if (f.env && env[f.env] !== undefined && env[f.env] !== '')
      values[name] = convert(name, f, env[f.env] as string, `$${f.env}`);
    else values[name] = f.default;
  }
  return { help: false, values: values as FlagValues<T> };
}
