import { createInterface } from 'node:readline/promises';

/**
 * Asks a yes/no question on the terminal. Without a TTY on both stdin and stderr there is nobody
 * to ask: resolves undefined, and the caller decides (the device denies).
 */
export async function askYesNo(
  question: string,
  signal?: AbortSignal,
): Promise<boolean | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `, signal ? { signal } : {});
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return undefined;
  } finally {
    rl.close();
  }
}
