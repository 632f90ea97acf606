import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { type Answer, call, startTestBackend } from '../helpers.js';

const CONSTRAINT = 'hawkbit.server.error.repo.constraintViolation';
const NOT_READABLE = 'hawkbit.server.error.rest.body.notReadable';
const RSQL_SYNTAX = 'hawkbit.server.error.rest.param.rsqlParamSyntax';
const RSQL_FIELD = 'hawkbit.server.error.rest.param.rsqlInvalidField';
const SORT_FIELD = 'hawkbit.server.error.rest.param.invalidField';

const ids = (answer: Answer): string[] =>
  answer.json.content.map((t: { controllerId: string }) => t.controllerId);

/** Every target's group, by controller id: what a refusal must leave as it was. */
async function groups(backend: Backend): Promise<Record<string, string | undefined>> {
  const all = await call(backend, 'GET', '/rest/v1/targets?limit=500');
  return Object.fromEntries(
    all.json.content.map((t: { controllerId: string; group?: string }) => [
      t.controllerId,
      t.group,
    ]),
  );
}

async function refused(
  backend: Backend,
  answer: Promise<Answer>,
  status: number,
  errorCode?: string,
): Promise<void> {
  const before = await groups(backend);
  const got = await answer;
  expect(got.status).toBe(status);
  if (errorCode) expect(got.json.errorCode).toBe(errorCode);
  expect(await groups(backend)).toEqual(before);
}

function describeTargetGroups(name: string, start: () => Promise<Backend>) {
  describe(`target groups: ${name}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await start();
      const created = await call(backend, 'POST', '/rest/v1/targets', [
        { controllerId: 'eu-1', group: 'Europe' },
        { controllerId: 'eu-2', group: 'Europe/East' },
        { controllerId: 'eu-3', group: 'EuropeanUnion' },
        { controllerId: 'us-1', group: 'US' },
        { controllerId: 'none-1' },
      ]);
      expect(created.status).toBe(201);
      expect(created.json[0]).toMatchObject({ controllerId: 'eu-1', group: 'Europe' });
      expect(created.json[4].group).toBeUndefined();
    }, 120_000);
    afterAll(async () => {
      await backend?.close();
    });

    it('keeps a target group set on create and update, shown in the target JSON', async () => {
      const got = await call(backend, 'GET', '/rest/v1/targets/eu-2');
      expect(got.json).toMatchObject({ controllerId: 'eu-2', group: 'Europe/East' });
      const keys = Object.keys(got.json);
      expect(keys.indexOf('group')).toBe(keys.indexOf('controllerId') + 1);
      const updated = await call(backend, 'PUT', '/rest/v1/targets/none-1', { group: 'Asia' });
      expect(updated.status).toBe(200);
      expect(updated.json.group).toBe('Asia');
      const back = await call(backend, 'PUT', '/rest/v1/targets/none-1', { name: 'none-1' });
      expect(back.json.group).toBe('Asia');
      await refused(
        backend,
        call(backend, 'PUT', '/rest/v1/targets/none-1', { group: 'x'.repeat(257) }),
        400,
        CONSTRAINT,
      );
      await refused(
        backend,
        call(backend, 'POST', '/rest/v1/targets', [{ controllerId: 'bad', group: '' }]),
        400,
        CONSTRAINT,
      );
      expect((await call(backend, 'GET', '/rest/v1/targets/bad')).status).toBe(404);
      await call(backend, 'PUT', '/rest/v1/targets/none-1', { group: 'Europe/East' });
    });

    it('GET /targetgroups lists every group in use once, as a plain array', async () => {
      const list = await call(backend, 'GET', '/rest/v1/targetgroups');
      expect(list.status).toBe(200);
      expect(list.json).toEqual(['Europe', 'Europe/East', 'EuropeanUnion', 'US']);
    });

    it('GET /targetgroups/assigned lists a group, with its sub-groups when asked', async () => {
      const exact = await call(backend, 'GET', '/rest/v1/targetgroups/assigned?group=europe');
      expect(exact.status).toBe(200);
      expect(exact.json).toMatchObject({ total: 1, size: 1 });
      expect(ids(exact)).toEqual(['eu-1']);
      expect(exact.json.content[0]._links.self.href).toContain('/rest/v1/targets/eu-1');
      const sub = await call(
        backend,
        'GET',
        '/rest/v1/targetgroups/assigned?group=Europe&subgroups=TRUE&sort=controllerId:DESC',
      );
      expect(ids(sub)).toEqual(['none-1', 'eu-2', 'eu-1']);
      const page = await call(
        backend,
        'GET',
        '/rest/v1/targetgroups/assigned?group=Europe&subgroups=true&limit=1&offset=1',
      );
      expect(page.json).toMatchObject({ total: 3, size: 1 });
      expect(ids(page)).toEqual(['eu-2']);
      const path = `/rest/v1/targetgroups/assigned?group=${encodeURIComponent('Europe/East')}`;
      expect(ids(await call(backend, 'GET', path))).toEqual(['eu-2', 'none-1']);
      expect((await call(backend, 'GET', '/rest/v1/targetgroups/assigned')).status).toBe(400);
      expect(
        (await call(backend, 'GET', '/rest/v1/targetgroups/assigned?group=US&subgroups=maybe'))
          .status,
      ).toBe(400);
      const badSort = await call(
        backend,
        'GET',
        '/rest/v1/targetgroups/assigned?group=US&sort=x:ASC',
      );
      expect(badSort.json.errorCode).toBe(SORT_FIELD);
    });

    it('GET /targetgroups/{group}/assigned lists the group itself, not its sub-groups', async () => {
      const list = await call(backend, 'GET', '/rest/v1/targetgroups/Europe/assigned');
      expect(list.status).toBe(200);
      expect(ids(list)).toEqual(['eu-1']);
      const nested = await call(backend, 'GET', '/rest/v1/targetgroups/Europe%2FEast/assigned');
      expect(ids(nested)).toEqual(['eu-2', 'none-1']);
      const none = await call(backend, 'GET', '/rest/v1/targetgroups/Nowhere/assigned');
      expect(none.json).toEqual({ content: [], total: 0, size: 0 });
    });

    it('PUT /targetgroups/assigned?group= puts the listed targets into a group path', async () => {
      const put = await call(backend, 'PUT', '/rest/v1/targetgroups/assigned?group=Asia/South', [
        'us-1',
        'eu-3',
        'unknown-target',
      ]);
      expect(put.status).toBe(204);
      expect(put.text).toBe('');
      expect(
        ids(await call(backend, 'GET', '/rest/v1/targetgroups/Asia%2FSouth/assigned')),
      ).toEqual(['eu-3', 'us-1']);
      expect((await call(backend, 'GET', '/rest/v1/targets/unknown-target')).status).toBe(404);
      const base = '/rest/v1/targetgroups/assigned';
      await refused(backend, call(backend, 'PUT', `${base}?group=X`, []), 400, CONSTRAINT);
      await refused(backend, call(backend, 'PUT', base, ['eu-1']), 400);
      await refused(backend, call(backend, 'PUT', `${base}?group=`, ['eu-1']), 400, CONSTRAINT);
      await refused(
        backend,
        call(backend, 'PUT', `${base}?group=X`, { controllerId: 'eu-1' }),
        400,
        NOT_READABLE,
      );
      await refused(backend, call(backend, 'PUT', `${base}?group=X`, [{ id: 'eu-1' }]), 400);
      await refused(
        backend,
        call(backend, 'PUT', `${base}?group=X`, 'eu-1', { 'Content-Type': 'text/plain' }),
        415,
      );
    });

    it('PUT /targetgroups/{group}/assigned puts the listed targets into the path group', async () => {
      const put = await call(backend, 'PUT', '/rest/v1/targetgroups/Canary/assigned', ['eu-3']);
      expect(put.status).toBe(204);
      expect((await call(backend, 'GET', '/rest/v1/targets/eu-3')).json.group).toBe('Canary');
      await refused(
        backend,
        call(backend, 'PUT', '/rest/v1/targetgroups/Canary/assigned', []),
        400,
        CONSTRAINT,
      );
      await refused(
        backend,
        call(backend, 'PUT', `/rest/v1/targetgroups/${'x'.repeat(257)}/assigned`, ['eu-1']),
        400,
        CONSTRAINT,
      );
    });

    it('DELETE /targetgroups/assigned takes the listed targets out of their groups', async () => {
      const del = await call(backend, 'DELETE', '/rest/v1/targetgroups/assigned', [
        'eu-3',
        'nobody',
      ]);
      expect(del.status).toBe(204);
      expect((await call(backend, 'GET', '/rest/v1/targets/eu-3')).json.group).toBeUndefined();
      await refused(
        backend,
        call(backend, 'DELETE', '/rest/v1/targetgroups/assigned', []),
        400,
        CONSTRAINT,
      );
      await refused(
        backend,
        call(backend, 'DELETE', '/rest/v1/targetgroups/assigned'),
        400,
        CONSTRAINT,
      );
      await call(backend, 'PUT', '/rest/v1/targetgroups/assigned?group=EuropeanUnion', ['eu-3']);
    });

    it('PUT /targetgroups?group=&q= puts the targets of a filter into a group', async () => {
      const put = await call(
        backend,
        'PUT',
        `/rest/v1/targetgroups?group=${encodeURIComponent('Europe/West')}&q=${encodeURIComponent('controllerId==eu-*;group!=Europe')}`,
      );
      expect(put.status).toBe(204);
      expect(
        ids(await call(backend, 'GET', '/rest/v1/targetgroups/Europe%2FWest/assigned')),
      ).toEqual(['eu-2', 'eu-3']);
      const base = '/rest/v1/targetgroups';
      await refused(backend, call(backend, 'PUT', `${base}?group=X`), 400);
      await refused(backend, call(backend, 'PUT', `${base}?q=name==*`), 400);
      await refused(backend, call(backend, 'PUT', `${base}?group=X&q=name==`), 400, RSQL_SYNTAX);
      await refused(backend, call(backend, 'PUT', `${base}?group=X&q=nope==1`), 400, RSQL_FIELD);
      await refused(backend, call(backend, 'PUT', `${base}?group=&q=name==*`), 400, CONSTRAINT);
    });

    it('PUT /targetgroups/{group}?q= puts the targets of a filter into the path group', async () => {
      const put = await call(backend, 'PUT', '/rest/v1/targetgroups/Americas?q=group==Asia/South');
      expect(put.status).toBe(204);
      expect(ids(await call(backend, 'GET', '/rest/v1/targetgroups/Americas/assigned'))).toEqual([
        'us-1',
      ]);
      await refused(backend, call(backend, 'PUT', '/rest/v1/targetgroups/Americas'), 400);
      await refused(
        backend,
        call(backend, 'PUT', '/rest/v1/targetgroups/Americas?q=(name==a'),
        400,
        RSQL_SYNTAX,
      );
    });

    it('DELETE /targetgroups?q= takes the targets of a filter out of their groups', async () => {
      const del = await call(backend, 'DELETE', '/rest/v1/targetgroups?q=group==Europe/*');
      expect(del.status).toBe(204);
      expect(await groups(backend)).toEqual({
        'eu-1': 'Europe',
        'eu-2': undefined,
        'eu-3': undefined,
        'us-1': 'Americas',
        'none-1': undefined,
      });
      expect((await call(backend, 'GET', '/rest/v1/targetgroups')).json).toEqual([
        'Americas',
        'Europe',
      ]);
      await refused(backend, call(backend, 'DELETE', '/rest/v1/targetgroups'), 400, CONSTRAINT);
      await refused(
        backend,
        call(backend, 'DELETE', '/rest/v1/targetgroups?q=x=='),
        400,
        RSQL_SYNTAX,
      );
    });
  });
}

describeTargetGroups('memory store', () => startTestBackend({ store: 'memory' }));
describeTargetGroups('PGlite', () => startTestBackend());
