#!/usr/bin/env node
// `pnpm bench`: runs every package's benchmark one after another (they measure throughput, so
// they must not share the two cores), then writes BENCHMARKS.md from their bench/result.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
// `--report` rewrites BENCHMARKS.md from the last results without running anything.
const reportOnly = process.argv.includes('--report');
const only = process.argv.slice(2).filter((a) => a !== '--report');
const dirs = ['packages', 'apps']
  .flatMap((kind) => readdirSync(join(root, kind)).map((name) => join(kind, name)))
  .filter((dir) => existsSync(join(root, dir, 'bench', 'run.ts')))
  .filter((dir) => only.length === 0 || only.some((o) => dir.includes(o)));

const failed = [];
for (const [i, dir] of reportOnly ? [] : dirs.entries()) {
  console.log(`\n[bench ${i + 1}/${dirs.length}] ${dir}`);
  const run = spawnSync('pnpm', ['run', 'bench'], { cwd: join(root, dir), stdio: 'inherit' });
  if (run.status !== 0) failed.push(dir);
}

const fmt = (n) =>
  n === null || n === undefined
    ? ''
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString('en-US')
      : Number(n.toPrecision(3)).toString();

const lines = [
  '# Benchmarks',
  '',
  'Written by `pnpm bench`. Every figure is measured against a raw baseline run in the same process or',
  'script on the same machine, so the ratio is what carries over to other machines.',
  '',
];
// A package's `bench/result.json` first, then its other results (`bench/<phase>-result.json`: a
// phase that writes figures of its own, e.g. the backend's scale run).
const resultsOf = (dir) => {
  const bench = join(root, dir, 'bench');
  if (!existsSync(bench)) return [];
  const others = readdirSync(bench)
    .filter((f) => f.endsWith('-result.json'))
    .sort();
  return [...(existsSync(join(bench, 'result.json')) ? ['result.json'] : []), ...others].map((f) =>
    join(dir, 'bench', f),
  );
};
for (const file of ['packages', 'apps']
  .flatMap((kind) => readdirSync(join(root, kind)).map((n) => join(kind, n)))
  .flatMap(resultsOf)) {
  const dir = file.split('/bench/')[0];
  const result = JSON.parse(readFileSync(join(root, file), 'utf8'));
  const m = result.machine ?? {};
  lines.push(`## ${result.name ?? dir}`, '');
  lines.push(
    `${result.date ?? ''} · ${m.cores ?? cpus().length} cores · ${m.memoryGiB ?? Math.round(totalmem() / 2 ** 30)} GiB · Node ${m.node ?? process.version} · \`pnpm bench\` in \`${dir}\``,
    '',
  );
  // A result assembled from separate phase runs says which was measured when.
  if (result.note) lines.push(result.note, '');
  lines.push(
    '| metric | value | unit | baseline | ratio | goal | met |',
    '|---|---:|---|---:|---:|---:|:--:|',
  );
  for (const f of result.figures ?? []) {
    // `goalBelow` marks a ceiling (bytes, RSS); a goal above 1 is a floor for the value itself
    // (events per second); any other goal is a floor for the ratio to the baseline.
    // `ratioBelow`: a ceiling for the ratio (a time against the baseline's).
    const ok = f.goalBelow
      ? f.value <= f.goal
      : f.ratioBelow
        ? (f.ratio ?? Number.POSITIVE_INFINITY) <= f.goal
        : f.goal > 1
          ? f.value >= f.goal
          : (f.ratio ?? f.value) >= f.goal;
    const met = f.goal === null || f.goal === undefined ? '' : ok ? 'yes' : 'no';
    lines.push(
      `| ${f.metric} | ${fmt(f.value)} | ${f.unit ?? ''} | ${fmt(f.baseline)} | ${fmt(f.ratio)} | ${fmt(f.goal)} | ${met} |`,
    );
  }
  lines.push('');
}
writeFileSync(join(root, 'BENCHMARKS.md'), `${lines.join('\n')}\n`);
// The report and the results are committed, so they leave in the repository's own format.
spawnSync(
  'pnpm',
  ['exec', 'biome', 'format', '--write', 'BENCHMARKS.md', ...dirs.flatMap(resultsOf)],
  { cwd: root, stdio: 'ignore' },
);
console.log(`\nwrote BENCHMARKS.md${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
