import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The console's build, which the backend serves under /ui/ (the console app's `dist`). */
const CONSOLE_INDEX = fileURLToPath(new URL('../../console/dist/index.html', import.meta.url));

/**
 * Builds the console when it has not been built yet, so that a fresh checkout's `pnpm start`
 * serves it; its output goes to stderr, as the demo's progress does. False when the build failed:
 * the demo goes on, and `/ui/` says how to build it.
 */
export async function ensureConsoleBuilt(say: (line: string) => void): Promise<boolean> {
  if (existsSync(CONSOLE_INDEX)) return true;
  say('building the console (first run only)...');
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('pnpm', ['--silent', '--filter', '@otaflow/console', 'build'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(process.stderr, { end: false });
    child.stderr.pipe(process.stderr, { end: false });
    child.on('error', () => resolve(null));
    child.on('close', resolve);
  });
  if (code === 0 && existsSync(CONSOLE_INDEX)) return true;
  say('the console could not be built: run `pnpm --filter @otaflow/console build` to see why');
  return false;
}
