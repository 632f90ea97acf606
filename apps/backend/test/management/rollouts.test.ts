import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@otaflow/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openBackendStore } from '../../src/openBackendStore.js';
import type { Backend } from '../../src/server.js';
import { startBackend } from '../../src/server.js';
import {
  call,
  ddi as ddiOf,
  deviceAction,
  finishAction,
  seed,
  startTestBackend,
} from '../helpers.js';

let backend: Backend;
const ddi = (device: string, path = '', body?: unknown, on: Backend = backend) =>
  ddiOf(on, device, path, body);
const actionOf = (device: string, on: Backend = backend) => deviceAction(on, device);
const finish = (device: string, result: 'success' | 'failure', on: Backend = backend) =>
  finishAction(on, device, result);
let setId: number;
const FLEET = Array.from({ length: 10 }, (_, i) => `ro-${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  backend = await startTestBackend({ store: 'memory', rolloutInterval: 50 });
  ({ setId } = await seed(backend, FLEET, 'rolled'));
});
afterAll(async () => {
  await backend?.close();
});

/** Calls until `ok` holds for the answer (the engine works in rounds), or fails after 10 s. */
// biome-ignore lint/suspicious/noExplicitAny: answers are inspected field by field
async function until(path: string, ok: (json: any) => boolean, on: Backend = backend) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await call(on, 'GET', path);
    if (ok(answer.json)) return answer.json;
    if (Date.now() > deadline) throw new Error(`never: ${path} ${answer.text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rollouts', () => {
  it('creates groups, starts the first, moves on at the threshold, and finishes', async () => {
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'waves',
      distributionSetId: setId,
      targetFilterQuery: 'controllerId==ro-0*',
      amountGroups: 2,
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      errorCondition: { condition: 'THRESHOLD', expression: '50' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'waves',
      status: 'ready',
      totalTargets: 10,
      totalGroups: 2,
      type: 'forced',
      totalTargetsPerStatus: { notstarted: 10, running: 0, scheduled: 0 },
    });
    const id = created.json.id;
    expect(created.json._links.start.href).toContain(`/rest/v1/rollouts/${id}/start`);
    const groups = await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups`);
    expect(groups.json.total).toBe(2);
    expect(groups.json.content.map((g: { totalTargets: number }) => g.totalTargets)).toEqual([
      5, 5,
    ]);
    const [first, second] = groups.json.content;
    const members = await call(
      backend,
      'GET',
      `/rest/v1/rollouts/${id}/deploygroups/${first.id}/targets`,
    );
    const firstIds: string[] = members.json.content.map(
      (t: { controllerId: string }) => t.controllerId,
    );
    expect(firstIds).toHaveLength(5);
    const secondIds = FLEET.filter((d) => !firstIds.includes(d));

    // Nothing is visible to devices before the start.
    expect(await actionOf(firstIds[0]!)).toBeUndefined();
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/pause`)).status).toBe(400);
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`)).status).toBe(204);
    await until(
      `/rest/v1/rollouts/${id}`,
      (r) => r.status === 'running' && r.totalTargetsPerStatus.running === 5,
    );
    const started = await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups/${first.id}`);
    expect(started.json).toMatchObject({
      status: 'running',
      totalTargetsPerStatus: { running: 5 },
    });
    expect(
      (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups/${second.id}`)).json,
    ).toMatchObject({ status: 'scheduled', totalTargetsPerStatus: { scheduled: 5 } });
    expect(await actionOf(secondIds[0]!)).toBeUndefined();
    // A second start is an illegal state, in hawkBit's words, and changes nothing.
    const again = await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    expect(again.status).toBe(400);
    expect(again.json.errorCode).toBe('hawkbit.server.error.rollout.illegalState');

    for (const device of firstIds) await finish(device, 'success');
    await until(`/rest/v1/rollouts/${id}/deploygroups/${second.id}`, (g) => g.status === 'running');
    for (const device of secondIds) await finish(device, 'success');
    const done = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'finished');
    expect(done.totalTargetsPerStatus).toMatchObject({ finished: 10, running: 0, error: 0 });
    const target = await call(backend, 'GET', `/rest/v1/targets/${secondIds[0]}`);
    expect(target.json.updateStatus).toBe('in_sync');
  });

  it('pauses when a group trips its error threshold, resumes, and retries the failed targets', async () => {
    const { setId: next } = await seed(backend, [], 'canary');
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'canary-first',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==ro-0*',
      groups: [
        { name: 'canary', targetFilterQuery: 'controllerId==ro-00', targetPercentage: 100 },
        { name: 'rest', targetPercentage: 100 },
      ],
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      errorCondition: { condition: 'THRESHOLD', expression: '0' },
    });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const groups = (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups`)).json
      .content;
    expect(
      groups.map((g: { name: string; totalTargets: number }) => [g.name, g.totalTargets]),
    ).toEqual([
      ['canary', 1],
      ['rest', 9],
    ]);
    await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    await until(
      `/rest/v1/rollouts/${id}/deploygroups/${groups[0].id}`,
      (g) => g.status === 'running',
    );
    await finish('ro-00', 'failure');
    const paused = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'paused');
    expect(paused.totalTargetsPerStatus).toMatchObject({ error: 1, scheduled: 9 });
    expect(
      (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups/${groups[0].id}`)).json
        .status,
    ).toBe('error');
    expect(await actionOf('ro-05')).toBeUndefined();

    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/resume`)).status).toBe(204);
    await until(
      `/rest/v1/rollouts/${id}/deploygroups/${groups[1].id}`,
      (g) => g.status === 'running',
    );
    for (const device of FLEET.slice(1)) await finish(device, 'success');
    await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'finished');

    const retried = await call(backend, 'POST', `/rest/v1/rollouts/${id}/retry`);
    expect(retried.status).toBe(201);
    expect(retried.json).toMatchObject({
      name: 'canary-first_retry',
      targetFilterQuery: `failedrollout==${id}`,
      totalTargets: 1,
      status: 'ready',
    });
  });

  it('stops a running rollout: scheduled actions are dropped, running ones canceled', async () => {
    const { setId: next } = await seed(backend, [], 'stopped');
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'to-stop',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==ro-0*',
      amountGroups: 5,
    });
    const id = created.json.id;
    await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    await until(
      `/rest/v1/rollouts/${id}`,
      (r) => r.status === 'running' && r.totalTargetsPerStatus.running === 2,
    );
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/stop`)).status).toBe(204);
    const stopped = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'stopped');
    expect(stopped.totalTargetsPerStatus.scheduled).toBe(0);
    const groups = (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups`)).json
      .content;
    expect(groups.every((g: { status: string }) => g.status === 'finished')).toBe(true);
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/resume`)).status).toBe(400);
    // Deleting a rollout that has actions keeps it, soft.
    expect((await call(backend, 'DELETE', `/rest/v1/rollouts/${id}`)).status).toBe(204);
    const deleted = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'deleted');
    expect(deleted.deleted).toBe(true);
  });

  it('refuses what hawkBit refuses, changing nothing', async () => {
    const before = (await call(backend, 'GET', '/rest/v1/rollouts')).json.total;
    const bad = [
      { name: 'x', distributionSetId: setId, targetFilterQuery: 'controllerId==nobody' },
      {
        name: 'x',
        distributionSetId: setId,
        targetFilterQuery: 'controllerId==ro-*',
        amountGroups: 2,
        groups: [{ name: 'g' }],
      },
      {
        name: 'x',
        distributionSetId: setId,
        targetFilterQuery: 'controllerId==ro-*',
        groups: [{ name: 'g', targetPercentage: 50 }],
      },
      { name: 'x', distributionSetId: setId, targetFilterQuery: 'nosuchfield==1' },
      { distributionSetId: setId, targetFilterQuery: 'controllerId==ro-*' },
    ];
    for (const body of bad)
      expect((await call(backend, 'POST', '/rest/v1/rollouts', body)).status).toBe(400);
    const quota = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'x',
      distributionSetId: setId,
      targetFilterQuery: 'controllerId==ro-*',
      amountGroups: 501,
    });
    expect(quota.status).toBe(429);
    const missingSet = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'x',
      distributionSetId: 999_999,
      targetFilterQuery: 'controllerId==ro-*',
    });
    expect(missingSet.status).toBe(404);
    expect((await call(backend, 'GET', '/rest/v1/rollouts')).json.total).toBe(before);
    expect((await call(backend, 'GET', '/rest/v1/rollouts/999999')).status).toBe(404);
    expect((await call(backend, 'POST', '/rest/v1/rollouts/999999/start')).status).toBe(404);
  });

  it('lists with RSQL and paging, renames, and approves when approval is on', async () => {
    const list = await call(backend, 'GET', '/rest/v1/rollouts?q=name==waves&limit=1');
    expect(list.json).toMatchObject({ total: 1, size: 1, content: [{ name: 'waves' }] });
    const id = list.json.content[0].id;
    const renamed = await call(backend, 'PUT', `/rest/v1/rollouts/${id}`, {
      name: 'waves-1',
      description: 'done',
    });
    expect(renamed.json).toMatchObject({
      name: 'waves-1',
      description: 'done',
      status: 'finished',
    });
    const approving = await startTestBackend({
      store: 'memory',
      rolloutInterval: 50,
      rolloutApproval: true,
    });
    try {
      const { setId: s } = await seed(approving, ['ap-1', 'ap-2'], 'approved');
      const created = await call(approving, 'POST', '/rest/v1/rollouts', {
        name: 'needs-approval',
        distributionSetId: s,
        targetFilterQuery: 'controllerId==ap-*',
      });
      expect(created.json.status).toBe('waiting_for_approval');
      const rid = created.json.id;
      expect((await call(approving, 'POST', `/rest/v1/rollouts/${rid}/start`)).status).toBe(400);
      expect(
        (await call(approving, 'POST', `/rest/v1/rollouts/${rid}/approve?remark=ok`)).status,
      ).toBe(204);
      const approved = await call(approving, 'GET', `/rest/v1/rollouts/${rid}`);
      expect(approved.json).toMatchObject({
        status: 'ready',
        approvalRemark: 'ok',
        approveDecidedBy: 'admin',
      });
      const denied = await call(approving, 'POST', '/rest/v1/rollouts', {
        name: 'denied',
        distributionSetId: s,
        targetFilterQuery: 'controllerId==ap-*',
      });
      await call(approving, 'POST', `/rest/v1/rollouts/${denied.json.id}/deny`);
      expect(
        (await call(approving, 'GET', `/rest/v1/rollouts/${denied.json.id}`)).json.status,
      ).toBe('approval_denied');
    } finally {
      await approving.close();
    }
  });

  it('starts the next group at once on triggerNextGroup, whatever the conditions say', async () => {
    const { setId: next } = await seed(backend, ['tn-1', 'tn-2'], 'triggered');
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'triggered',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==tn-*',
      amountGroups: 2,
      successCondition: { condition: 'THRESHOLD', expression: '100' },
    });
    const id = created.json.id;
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/triggerNextGroup`)).status).toBe(
      400,
    );
    await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    await until(
      `/rest/v1/rollouts/${id}`,
      (r) => r.status === 'running' && r.totalTargetsPerStatus.running === 1,
    );
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/triggerNextGroup`)).status).toBe(
      204,
    );
    const both = await until(
      `/rest/v1/rollouts/${id}`,
      (r) => r.totalTargetsPerStatus.running === 2,
    );
    expect(both.totalTargetsPerStatus.scheduled).toBe(0);
    // No scheduled group left: illegal.
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/triggerNextGroup`)).status).toBe(
      400,
    );
  });

  it('takes targets that match later into dynamic groups, and never finishes by itself', async () => {
    const { setId: next } = await seed(backend, ['dy-1', 'dy-2'], 'dynamic');
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'dynamic',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==dy-*',
      amountGroups: 1,
      dynamic: true,
      dynamicGroupTemplate: { nameSuffix: '-late', targetCount: 2 },
      successCondition: { condition: 'THRESHOLD', expression: '100' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ dynamic: true, totalTargets: 2, totalGroups: 2 });
    const id = created.json.id;
    await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    await until(`/rest/v1/rollouts/${id}`, (r) => r.totalTargetsPerStatus.running === 2);
    for (const d of ['dy-1', 'dy-2']) await finish(d, 'success');
    const groups = async () =>
      (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups`)).json;
    await until(`/rest/v1/rollouts/${id}/deploygroups`, (g) => g.content[1]?.status === 'running');
    // Three devices register later: two fill the dynamic group, the third opens another one.
    for (const d of ['dy-3', 'dy-4', 'dy-5']) await ddi(d);
    await until(`/rest/v1/rollouts/${id}`, (r) => r.totalTargets === 5);
    const after = await groups();
    expect(
      after.content.map((g: { name: string; totalTargets: number }) => [g.name, g.totalTargets]),
    ).toEqual([
      ['group-1', 2],
      ['group-2-late', 2],
      ['group-3-late', 1],
    ]);
    // The running dynamic group's newcomers see their update at once.
    expect(await actionOf('dy-3')).toBeDefined();
    for (const d of ['dy-3', 'dy-4']) await finish(d, 'success');
    await until(`/rest/v1/rollouts/${id}/deploygroups`, (g) => g.content[2]?.status === 'running');
    await finish('dy-5', 'success');
    const open = await until(
      `/rest/v1/rollouts/${id}`,
      (r) => r.totalTargetsPerStatus.finished === 5,
    );
    expect(open.status).toBe('running');
    expect((await call(backend, 'POST', `/rest/v1/rollouts/${id}/stop`)).status).toBe(204);
    await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'stopped');
    const refused = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'x',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==dy-*',
      dynamic: true,
      groups: [{ name: 'g' }],
    });
    expect(refused.status).toBe(400);
  });

  it('can count a device a success only once it reports the set installed after its restart', async () => {
    const { setId: next } = await seed(backend, ['ir-1', 'ir-2', 'ir-3'], 'reported');
    const set = (await call(backend, 'GET', `/rest/v1/distributionsets/${next}`)).json;
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'reported',
      distributionSetId: next,
      targetFilterQuery: 'controllerId=in=(ir-1,ir-2,ir-3)',
      groups: [
        { name: 'first', targetFilterQuery: 'controllerId=in=(ir-1,ir-2)', targetPercentage: 100 },
        { name: 'second', targetPercentage: 100 },
      ],
      successCondition: { condition: 'THRESHOLD', expression: '100' },
      errorCondition: { condition: 'THRESHOLD', expression: '0' },
      requireInstalledReport: true,
      installedReportTimeout: 400,
    });
    expect(created.json).toMatchObject({
      requireInstalledReport: true,
      installedReportTimeout: 400,
    });
    const id = created.json.id;
    const [first, second] = (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups`))
      .json.content;
    await call(backend, 'POST', `/rest/v1/rollouts/${id}/start`);
    await until(`/rest/v1/rollouts/${id}/deploygroups/${first.id}`, (g) => g.status === 'running');
    /** After its restart the device says, over DDI, which set it runs. */
    const reportInstalled = (device: string) =>
      fetch(`${backend.url}/DEFAULT/controller/v1/${device}/installedBase`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: set.name, version: set.version }),
      });
    for (const d of ['ir-1', 'ir-2']) await finish(d, 'success');
    // Finished, not yet confirmed: the next group waits.
    expect(
      (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups/${second.id}`)).json.status,
    ).toBe('scheduled');
    for (const d of ['ir-1', 'ir-2']) expect((await reportInstalled(d)).status).toBe(200);
    await until(`/rest/v1/rollouts/${id}/deploygroups/${second.id}`, (g) => g.status === 'running');
    // This one installs, then never comes back: past the time it is a failure, and trips the threshold.
    await finish('ir-3', 'success');
    const paused = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'paused');
    expect(paused.status).toBe('paused');
    expect(
      (await call(backend, 'GET', `/rest/v1/rollouts/${id}/deploygroups/${second.id}`)).json.status,
    ).toBe('error');
  });

  it('starts by itself at startAt', async () => {
    const { setId: next } = await seed(backend, ['at-1'], 'timed');
    const created = await call(backend, 'POST', '/rest/v1/rollouts', {
      name: 'timed',
      distributionSetId: next,
      targetFilterQuery: 'controllerId==at-1',
      startAt: Date.now() + 200,
    });
    expect(created.json.status).toBe('ready');
    await until(`/rest/v1/rollouts/${created.json.id}`, (r) => r.status === 'running');
    expect(await actionOf('at-1')).toBeDefined();
  });
});

describe('rollouts on PGlite', () => {
  it('go on where they were after a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'otaflow-rollouts-'));
    const config = parseConfig({ port: 0, logLevel: 'silent', dataDir, rolloutInterval: 50 });
    const open = async () => {
      const state = await openBackendStore(config, { logger: silentLogger });
      const started = await startBackend(config, {
        logger: createLogger({ level: 'silent' }),
        store: state.store,
        strictApiDocs: true,
        ...(state.artifactsDir ? { artifactsDir: state.artifactsDir } : {}),
      });
      // The backend does not own a store it was given: closing it closes the store too here.
      const close = started.close.bind(started);
      return Object.assign(started, {
        close: async () => {
          await close();
          await state.close();
        },
      });
    };
    let b = await open();
    try {
      const devices = ['pg-1', 'pg-2', 'pg-3', 'pg-4'];
      const { setId: s } = await seed(b, devices, 'durable');
      const created = await call(b, 'POST', '/rest/v1/rollouts', {
        name: 'durable',
        distributionSetId: s,
        targetFilterQuery: 'controllerId==pg-*',
        amountGroups: 2,
        successCondition: { condition: 'THRESHOLD', expression: '100' },
      });
      const id = created.json.id;
      await call(b, 'POST', `/rest/v1/rollouts/${id}/start`);
      const running = (r: { totalTargetsPerStatus: { running: number } }) =>
        r.totalTargetsPerStatus.running === 2;
      await until(`/rest/v1/rollouts/${id}`, running, b);
      const live: string[] = [];
      for (const d of devices) if (await actionOf(d, b)) live.push(d);
      expect(live).toHaveLength(2);
      for (const d of live) await finish(d, 'success', b);
      await until(
        `/rest/v1/rollouts/${id}`,
        (r) => r.totalTargetsPerStatus.finished === 2 && running(r),
        b,
      );
      await b.close();
      b = await open();
      const rest = devices.filter((d) => !live.includes(d));
      for (const d of rest) await finish(d, 'success', b);
      const done = await until(`/rest/v1/rollouts/${id}`, (r) => r.status === 'finished', b);
      expect(done.totalTargetsPerStatus).toMatchObject({ finished: 4, scheduled: 0 });
    } finally {
      await b.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('target filters', () => {
  it('are created, listed, read, renamed and deleted with hawkBit shapes', async () => {
    const created = await call(backend, 'POST', '/rest/v1/targetfilters', {
      name: 'even',
      query: 'controllerId==ro-0*',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'even',
      query: 'controllerId==ro-0*',
      createdBy: 'admin',
    });
    const id = created.json.id;
    expect(created.json._links.autoAssignDS.href).toContain(
      `/rest/v1/targetfilters/${id}/autoAssignDS`,
    );
    expect(
      (await call(backend, 'POST', '/rest/v1/targetfilters', { name: 'even', query: 'name==x' }))
        .status,
    ).toBe(409);
    expect(
      (await call(backend, 'POST', '/rest/v1/targetfilters', { name: 'bad', query: 'nosuch==x' }))
        .status,
    ).toBe(400);
    const list = await call(backend, 'GET', '/rest/v1/targetfilters?q=name==ev*');
    expect(list.json).toMatchObject({ total: 1, content: [{ id }] });
    const renamed = await call(backend, 'PUT', `/rest/v1/targetfilters/${id}`, { name: 'zero' });
    expect(renamed.json).toMatchObject({ name: 'zero', query: 'controllerId==ro-0*' });
    expect((await call(backend, 'GET', `/rest/v1/targetfilters/${id}/autoAssignDS`)).status).toBe(
      204,
    );
    expect((await call(backend, 'DELETE', `/rest/v1/targetfilters/${id}`)).status).toBe(204);
    expect((await call(backend, 'GET', `/rest/v1/targetfilters/${id}`)).status).toBe(404);
  });

  it('auto-assign their set to every matching target, including one that registers later', async () => {
    const { setId: auto } = await seed(backend, ['aa-1', 'aa-2', 'other-1'], 'auto');
    const filter = await call(backend, 'POST', '/rest/v1/targetfilters', {
      name: 'aa',
      query: 'controllerId==aa-*',
    });
    const id = filter.json.id;
    const set = await call(backend, 'POST', `/rest/v1/targetfilters/${id}/autoAssignDS`, {
      id: auto,
      type: 'soft',
      weight: 300,
    });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({
      autoAssignDistributionSet: auto,
      autoAssignActionType: 'soft',
      autoAssignWeight: 300,
    });
    expect((await call(backend, 'GET', `/rest/v1/targetfilters/${id}/autoAssignDS`)).json.id).toBe(
      auto,
    );
    for (const device of ['aa-1', 'aa-2'])
      await until(`/rest/v1/targets/${device}`, (t) => t.updateStatus === 'pending');
    // A device that registers itself later (DDI plug and play) gets it too.
    await ddi('aa-3');
    await until('/rest/v1/targets/aa-3/assignedDS', (s) => s?.id === auto);
    const actions = await call(backend, 'GET', '/rest/v1/targets/aa-3/actions');
    expect(actions.json.content[0]).toMatchObject({
      type: 'update',
      forceType: 'soft',
      weight: 300,
    });
    expect((await call(backend, 'GET', '/rest/v1/targets/other-1')).json.updateStatus).not.toBe(
      'pending',
    );
    // Once per target: a failed update is not assigned again behind the operator's back.
    await finish('aa-1', 'failure');
    await call(backend, 'PUT', `/rest/v1/targetfilters/${id}`, { query: 'controllerId==aa-*' });
    const again = await call(backend, 'GET', '/rest/v1/targets/aa-1/actions');
    expect(again.json.total).toBe(1);
    expect(
      (await call(backend, 'DELETE', `/rest/v1/targetfilters/${id}/autoAssignDS`)).status,
    ).toBe(204);
    expect(
      (await call(backend, 'GET', `/rest/v1/targetfilters/${id}`)).json.autoAssignDistributionSet,
    ).toBeUndefined();
    expect(
      (await call(backend, 'POST', `/rest/v1/targetfilters/${id}/autoAssignDS`, { id: 999_999 }))
        .status,
    ).toBe(404);
  });
});
