import { spawn } from 'node:child_process';

export interface InstallCommandResult {
  /** Exit code, or undefined when a signal ended the command. */
  code: number | undefined;
  signal: NodeJS.Signals | undefined;
  /** The last lines of its stderr, for the failure report. */
  stderrTail: string;
}

const TAIL_CHARS = 400;

/**
 * Runs an install command through /bin/sh: the artifact paths are `$1..$n` and, one per line,
 * `$OTAFLOW_ARTIFACTS`, so both `test -s "$1"` and `for f in $OTAFLOW_ARTIFACTS` work. Its stdout
 * is passed through to `onOutput`; aborting the signal sends SIGTERM to its whole process group.
 */
export function runInstallCommand(
  command: string,
  files: readonly string[],
  options: {
    env?: Record<string, string>;
    signal?: AbortSignal;
    onOutput?: (line: string) => void;
  } = {},
): Promise<InstallCommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command, 'otaflow-install', ...files], {
      env: { ...process.env, ...options.env, OTAFLOW_ARTIFACTS: files.join('\n') },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so an abort reaches whatever the shell started, not just the shell.
      detached: true,
    });
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onOutput?.(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Only the tail is reported, so the buffer never grows with a chatty command.
      stderr = (stderr + chunk).slice(-4 * TAIL_CHARS);
    });
    const onAbort = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (pending.trim()) options.onOutput?.(pending);
      resolve({
        code: code ?? undefined,
        signal: signal ?? undefined,
        stderrTail: stderr.trim().slice(-TAIL_CHARS),
      });
    });
  });
}

/** One line for a failure report: exit code or signal, then the stderr tail. */
export function describeFailure(result: InstallCommandResult): string {
  const how =
    result.signal !== undefined ? `killed by ${result.signal}` : `exited with ${result.code}`;
  return result.stderrTail
    ? `install command ${how}: ${result.stderrTail}`
    : `install command ${how}`;
}
