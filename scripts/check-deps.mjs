#!/usr/bin/env node
// The dependency rule of ARCHITECTURE.md, checked on every import and every package.json:
// core imports only xstate and zod; an adapter imports core, zod, node builtins and its own
// transport; no adapter imports another adapter; nothing imports an app.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const allowed = {
  core: new Set(['xstate', 'zod']),
  // What every app shares (flags, logs, shutdown); apps may use it, adapters do not need it.
  cli: new Set(['@otaflow/core', 'pino']),
  // The benchmarks' load client: node builtins only; adapters use it in bench/ alone (devDependency).
  'bench-kit': new Set([]),
  'ddi-http': new Set(['@otaflow/core', 'zod', 'undici', 'find-my-way', 'negotiator']),
  'iothub-mqtt': new Set(['@otaflow/core', 'zod', 'mqtt']),
  'sie-amqp': new Set(['@otaflow/core', 'zod', 'amqplib']),
  'huawei-webhook': new Set(['@otaflow/core', 'zod']),
  // The store over PostgreSQL or PGlite: core and its drivers, nothing else.
  'store-postgres': new Set(['@otaflow/core', 'zod', '@electric-sql/pglite', 'postgres', 'pg']),
};

function* files(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(ts|mts|js|mjs)$/.test(name)) yield path;
  }
}

const importRe =
  /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function packageName(spec) {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/');
  return spec.split('/')[0];
}

const problems = [];
let checked = 0;

function checkPackageDir(kind, name) {
  const dir = join(root, kind, name);
  const isCore = kind === 'packages' && name === 'core';
  const rule = kind === 'packages' ? allowed[name] : undefined;
  if (kind === 'packages' && !rule)
    problems.push(`${kind}/${name}: no dependency rule is defined for this package`);
  // Source files obey the rule; tests and benchmarks may use dev tools but never an app.
  for (const sub of ['src', 'test', 'bench']) {
    for (const file of files(join(dir, sub))) {
      checked++;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3];
        if (!spec) continue;
        const where = relative(root, file);
        if (spec.startsWith('.')) {
          const target = relative(root, resolve(join(file, '..'), spec));
          const [topDir, pkgDir] = target.split(/[\\/]/);
          if (topDir === 'apps' && (kind !== 'apps' || pkgDir !== name))
            problems.push(`${where}: imports an app (${spec})`);
          if (topDir === 'packages' && pkgDir !== name)
            problems.push(`${where}: reaches into another package by path (${spec})`);
          continue;
        }
        if (
          spec.startsWith('@otaflow/') &&
          ['backend', 'device-ddi', 'device-mqtt', 'sie-consumer', 'demo'].includes(
            spec.split('/')[1],
          )
        ) {
          problems.push(`${where}: imports an app (${spec})`);
          continue;
        }
        if (sub !== 'src' || !rule) continue;
        if (builtins.has(spec)) {
          if (isCore) problems.push(`${where}: core must stay pure, but imports ${spec}`);
          continue;
        }
        if (!rule.has(packageName(spec)))
          problems.push(`${where}: ${kind}/${name} may not import ${spec}`);
      }
    }
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    if (rule && !rule.has(dep))
      problems.push(`${kind}/${name}/package.json: dependency ${dep} breaks the rule`);
    if (kind === 'packages' && dep.startsWith('@otaflow/') && dep !== '@otaflow/core')
      problems.push(`${kind}/${name}/package.json: an adapter depends on ${dep}`);
  }
}

for (const kind of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, kind))) {
    if (statSync(join(root, kind, name)).isDirectory()) checkPackageDir(kind, name);
  }
}

if (problems.length > 0) {
  console.error(`dependency rule: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`dependency rule: ok (${checked} files checked)`);
