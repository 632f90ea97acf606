import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFailure, runInstallCommand } from '../src/index.js';

describe('runInstallCommand', () => {
  it('passes the artifacts as $1.. and $OTAFLOW_ARTIFACTS, and streams stdout lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otaflow-cli-'));
    const a = join(dir, 'a.bin');
    await writeFile(a, 'x');
    const lines: string[] = [];
    const r = await runInstallCommand(
      'test -s "$1" && echo "got $1" && printf "%s" "$OTAFLOW_ARTIFACTS"',
      [a, 'b'],
      {
        onOutput: (l) => lines.push(l),
      },
    );
    expect(r).toEqual({ code: 0, signal: undefined, stderrTail: '' });
    expect(lines).toEqual([`got ${a}`, `${a}`, 'b']);
  });

  it('reports a failure with its exit code and the stderr tail', async () => {
    const r = await runInstallCommand(
      `echo ${'x'.repeat(500)} >&2; echo flash failed >&2; exit 3`,
      [],
    );
    expect(r.code).toBe(3);
    expect(r.stderrTail.length).toBeLessThanOrEqual(400);
    expect(describeFailure(r)).toMatch(/^install command exited with 3: x+\nflash failed$/);
  });

  it('stops the command when the signal aborts', async () => {
    const controller = new AbortController();
    const running = runInstallCommand('sleep 30', [], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const r = await running;
    expect(r.signal).toBe('SIGTERM');
    expect(describeFailure(r)).toBe('install command killed by SIGTERM');
  });
});
