import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  foldCase,
  matchWildcard,
  matchWildcardIgnoringCase,
  wildcardSteps,
} from '../src/filterWildcard.js';

/** The textbook dynamic programme over (pattern prefix, text prefix): slow, obviously right. */
function reference(pattern: string, text: string): boolean {
  let row = new Array<boolean>(text.length + 1).fill(false);
  row[0] = true;
  for (const p of pattern) {
    const next = new Array<boolean>(text.length + 1).fill(false);
    next[0] = p === '*' && row[0] === true;
    for (let j = 1; j <= text.length; j++)
      next[j] =
        p === '*'
          ? row[j] === true || next[j - 1] === true
          : row[j - 1] === true && text[j - 1] === p;
    row = next;
  }
  return row[text.length] === true;
}

// A small alphabet makes near-misses, repeats and overlaps (the cases KMP must get right) common.
const small = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 40 });
const pattern = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '*'), maxLength: 14 });

describe('matchWildcard', () => {
  it('agrees with the reference matcher', () => {
    fc.assert(
      fc.property(pattern, small, (p, t) => {
        expect(matchWildcard(p, t)).toBe(reference(p, t));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with the reference on patterns cut from the text itself', () => {
    fc.assert(
      fc.property(small, fc.array(fc.nat(), { maxLength: 6 }), (t, cuts) => {
        // Replace some spans of t by `*`: the result must match t.
        let p = t;
        for (const cut of cuts) {
          const at = cut % (p.length + 1);
          p = `${p.slice(0, at)}*${p.slice(at + (cut % 3))}`;
        }
        expect(matchWildcard(p, t)).toBe(true);
        expect(reference(p, t)).toBe(true);
      }),
    );
  });

  it('does work linear in pattern plus text', () => {
    fc.assert(
      fc.property(pattern, small, (p, t) => {
        expect(wildcardSteps(p, t).steps).toBeLessThanOrEqual(2 * (p.length + t.length) + 2);
      }),
      { numRuns: 3000 },
    );
  });

  it('answers the pathological pattern of issue 15 on long texts', () => {
    const stall = '*a*a*a*a*b';
    const id = 'a'.repeat(256);
    expect(matchWildcard(stall, id)).toBe(false);
    expect(wildcardSteps(stall, id).steps).toBeLessThanOrEqual(2 * (stall.length + id.length));
    const long = 'a'.repeat(1_000_000);
    const many = `${'*a'.repeat(2000)}*b`;
    const run = wildcardSteps(many, long);
    expect(run.matched).toBe(false);
    expect(run.steps).toBeLessThanOrEqual(2 * (many.length + long.length));
    expect(matchWildcard(many, `${long}b`)).toBe(true);
    // KMP's own worst case: a needle that almost matches everywhere.
    const needle = `${'a'.repeat(999)}b`;
    const hay = `${'a'.repeat(200_000)}`;
    const kmp = wildcardSteps(`*${needle}*`, hay);
    expect(kmp.matched).toBe(false);
    expect(kmp.steps).toBeLessThanOrEqual(2 * (needle.length + hay.length + 2));
  });

  it('treats a pattern without `*` as plain equality', () => {
    expect(matchWildcard('abc', 'abc')).toBe(true);
    expect(matchWildcard('abc', 'abcd')).toBe(false);
    expect(matchWildcard('', '')).toBe(true);
    expect(matchWildcard('*', '')).toBe(true);
    expect(matchWildcard('**', 'x')).toBe(true);
    expect(matchWildcard('a*a', 'a')).toBe(false);
    expect(matchWildcard('ab*ba', 'aba')).toBe(false);
    expect(matchWildcard('ab*ba', 'abba')).toBe(true);
  });

  it('reads regular-expression characters literally', () => {
    expect(matchWildcard('a.c*', 'abc')).toBe(false);
    expect(matchWildcard('a.c*', 'a.cd')).toBe(true);
    expect(matchWildcard('(x)+*[y]', '(x)+zz[y]')).toBe(true);
    expect(matchWildcard('^$*', '^$\n')).toBe(true);
  });
});

describe('matchWildcardIgnoringCase', () => {
  it('ignores case, as hawkBit does', () => {
    expect(matchWildcardIgnoringCase('DEV-*', 'dev-42')).toBe(true);
    expect(matchWildcardIgnoringCase('*ÜBER*', 'das über-gerät')).toBe(true);
  });

  it('folds each character alone, so a final sigma matches wherever it was cut', () => {
    expect(foldCase('ΑΣ')).toBe(foldCase('Α') + foldCase('Σ'));
    expect(matchWildcardIgnoringCase('ΑΣ*', 'ασβ')).toBe(true);
  });

  it('agrees with the reference on mixed case', () => {
    const unit = fc.constantFrom('a', 'A', 'b', 'B', '*');
    fc.assert(
      fc.property(
        fc.string({ unit, maxLength: 10 }),
        fc.string({ unit: fc.constantFrom('a', 'A', 'b', 'B'), maxLength: 30 }),
        (p, t) => {
          expect(matchWildcardIgnoringCase(p, t)).toBe(reference(p.toLowerCase(), t.toLowerCase()));
        },
      ),
    );
  });
});
