import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Backend } from '../src/server.js';
import { call, seed, startTestBackend } from './helpers.js';

let backend: Backend;
beforeAll(async () => {
  backend = await startTestBackend({ inspect: true, inspectPort: 0 });
});
afterAll(async () => {
  await backend?.close();
});

interface Frame {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  snapshot?: { value?: unknown; status?: string; context?: Record<string, unknown> };
  event?: { type: string };
}

describe('--inspect', () => {
  it('streams target and action machines to a WebSocket client of the inspector server', async () => {
    expect(backend.inspectorWsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const frames: Frame[] = [];
    const client = new WebSocket(backend.inspectorWsUrl!);
    client.on('message', (data) => frames.push(JSON.parse(data.toString()) as Frame));
    await new Promise<void>((resolve, reject) =>
      client.once('open', () => resolve()).once('error', reject),
    );
    try {
      const { setId } = await seed(backend, ['insp-1'], 'inspect');
      const res = await call(
        backend,
        'POST',
        `/rest/v1/distributionsets/${setId}/assignedTargets`,
        [{ id: 'insp-1' }],
      );
      const actionId = res.json.assignedActions[0].id as number;
      await call(backend, 'DELETE', `/rest/v1/targets/insp-1/actions/${actionId}`);

      const wanted = (f: Frame) =>
        f.type === '@xstate.snapshot' &&
        f.sessionId === `action:${actionId}` &&
        f.snapshot?.value === 'canceling';
      const deadline = Date.now() + 15_000;
      while (!frames.some(wanted) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));

      const target = frames.filter((f) => f.sessionId === 'target:insp-1');
      expect(target.find((f) => f.type === '@xstate.actor')).toMatchObject({
        name: 'target:insp-1',
      });
      expect(target.find((f) => f.type === '@xstate.actor')?.definition).toContain('"initial"');
      const targetSnapshots = target.filter((f) => f.type === '@xstate.snapshot');
      expect(targetSnapshots.map((f) => f.snapshot?.value)).toContain('pending');
      expect(targetSnapshots.at(-1)?.event?.type).toBe('target.assigned');

      const action = frames.filter((f) => f.sessionId === `action:${actionId}`);
      expect(action.find((f) => f.type === '@xstate.actor')).toBeDefined();
      expect(action.find((f) => f.type === '@xstate.event')?.event?.type).toBe('cancel.requested');
      const snapshots = action.filter((f) => f.type === '@xstate.snapshot');
      expect(snapshots[0]?.snapshot?.value).toEqual({ running: 'running' });
      expect(snapshots.at(-1)).toMatchObject({
        snapshot: { value: 'canceling', status: 'active', context: { status: 'CANCELING' } },
      });
    } finally {
      client.close();
    }
  });
});
