#!/usr/bin/env node
// Runs every package's tests through turbo, then prints one closing line for the whole
// repository ("N passed, N failed, N skipped") from the JSON reports vitest leaves behind.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dirs = ['packages', 'apps'].flatMap((kind) =>
  readdirSync(join(root, kind)).map((name) => join(root, kind, name)),
);
for (const dir of dirs) rmSync(join(dir, '.vitest'), { recursive: true, force: true });

const run = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--concurrency=2', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const dir of dirs) {
  const file = join(dir, '.vitest', 'result.json');
  const hasTests =
    existsSync(join(dir, 'test')) &&
    readdirSync(join(dir, 'test')).some((f) => f.endsWith('.test.ts'));
  if (!existsSync(file)) {
    if (hasTests) missing.push(dir.slice(root.length + 1));
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A suite that failed to load reports no test, so count it as a failure.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed++;
  }
}
// Figures a test leaves for the reader (how much of hawkBit's API is routed, say).
for (const dir of dirs) {
  const figures = join(dir, '.vitest', 'figures.txt');
  if (existsSync(figures)) process.stdout.write(readFileSync(figures, 'utf8'));
}
if (missing.length > 0) {
  console.log(`no test report from: ${missing.join(', ')}`);
  failed += missing.length;
}
console.log('');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
