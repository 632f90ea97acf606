import { CliError } from './CliError.js';
import { type CliSpec, type FlagSpecs, type FlagValues, parseFlags } from './parseFlags.js';

export interface MainContext<T extends FlagSpecs> {
  flags: FlagValues<T>;
  /** Aborted on the first SIGINT or SIGTERM: stop taking work, close, return. */
  signal: AbortSignal;
}

/**
 * Runs an app's main: prints --help, turns a bad flag into exit code 2 with one clear line, and
 * turns SIGINT/SIGTERM into an abort signal. A second signal exits at once, for a stuck close.
 */
export async function runMain<T extends FlagSpecs>(
  spec: CliSpec<T>,
  main: (ctx: MainContext<T>) => Promise<unknown>,
): Promise<never> {
  let parsed: ReturnType<typeof parseFlags<T>>;
  try {
    parsed = parseFlags(spec);
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`${spec.name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (parsed.help) {
    process.stdout.write(parsed.text);
    process.exit(0);
  }
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await main({ flags: parsed.values, signal: controller.signal });
    process.exit(typeof code === 'number' ? code : 0);
  } catch (error) {
    process.stderr.write(
      `${spec.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  }
}

/** Resolves when the signal aborts; for mains that run until they are told to stop. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
