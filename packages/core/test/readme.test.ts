import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as core from '../src/index.js';

describe('README', () => {
  it('shows every export of src/index.ts in its API examples', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const api = readme.slice(readme.indexOf('## API'));
    const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    const names = [
      ...index
        .replace(/\} from '[^']+';/g, ',')
        .replace(/export (type )?\{/g, ',')
        .matchAll(/(?:type\s+)?([A-Za-z_0-9]+)\s*,/g),
    ].map((m) => m[1]!);
    // The runtime exports are a subset of the names parsed from index.ts.
    expect(names).toEqual(expect.arrayContaining(Object.keys(core)));
    expect(names.filter((n) => !new RegExp(`\\b${n}\\b`).test(api))).toEqual([]);
  });
});
