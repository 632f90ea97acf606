import { describe, expect, it } from 'vitest';
import { BenchKitError, forkBenchChild, interleaveRounds, median } from '../src/index.js';

describe('forkBenchChild / serveBenchChild', () => {
  it('announces ready, answers requests, reports failures, and exits on close', async () => {
    const child = forkBenchChild<{ hello: string }, 'pid' | 'fail' | 'close'>(
      new URL('./fixtures/echoChild.ts', import.meta.url),
    );
    expect(await child.ready).toEqual({ hello: 'ready' });
    expect(await child.ask<{ pid: number }>('pid')).toEqual({ pid: child.child.pid });
    const failure = await child.ask('fail').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BenchKitError);
    expect((failure as BenchKitError).code).toBe('CHILD_FAILED');
    await child.stop('close');
    expect(child.child.exitCode).toBe(0);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('interleaveRounds', () => {
  it('warms each side up once, then alternates the order of every measured pair', async () => {
    const calls: string[] = [];
    let n = 0;
    const side = (name: string) => async () => {
      calls.push(name);
      return `${name}${n++}`;
    };
    const seen: number[] = [];
    const out = await interleaveRounds(3, side('b'), side('t'), (r) => seen.push(r));
    expect(calls).toEqual(['b', 't', 'b', 't', 't', 'b', 'b', 't']);
    expect(out).toEqual({ baseline: ['b2', 'b5', 'b6'], tested: ['t3', 't4', 't7'] });
    expect(seen).toEqual([0, 1, 2]);
  });
});
