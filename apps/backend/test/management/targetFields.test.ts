import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/server.js';
import { type Answer, call, seed, startTestBackend } from '../helpers.js';

const SORT_FIELD = 'hawkbit.server.error.rest.param.invalidField';
const RSQL_FIELD = 'hawkbit.server.error.rest.param.rsqlInvalidField';

const ids = (answer: Answer): string[] =>
  answer.json.content.map((t: { controllerId: string }) => t.controllerId);

/** A device's report that its action ended well: the set becomes the installed one. */
async function install(backend: Backend, controllerId: string, actionId: number) {
  const res = await fetch(
    `${backend.url}/DEFAULT/controller/v1/${controllerId}/deploymentBase/${actionId}/feedback`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ status: { execution: 'closed', result: { finished: 'success' } } }),
    },
  );
  expect(res.status).toBe(200);
}

function describeTargetFields(name: string, start: () => Promise<Backend>) {
  describe(`GET /targets by group, tag, metadata and sets: ${name}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await start();
      const { setId } = await seed(backend, ['f-1', 'f-2', 'f-3', 'f-4'], 'Firmware');
      await call(backend, 'PUT', '/rest/v1/targetgroups/assigned?group=Lab', ['f-1', 'f-2']);
      await call(backend, 'PUT', '/rest/v1/targetgroups/assigned?group=Lab/Bench', ['f-3']);
      const [red, blue] = (
        await call(backend, 'POST', '/rest/v1/targettags', [{ name: 'Red' }, { name: 'blue' }])
      ).json;
      await call(backend, 'POST', `/rest/v1/targettags/${red.id}/assigned`, ['f-1', 'f-2']);
      await call(backend, 'POST', `/rest/v1/targettags/${blue.id}/assigned`, ['f-2']);
      await call(backend, 'POST', '/rest/v1/targets/f-1/metadata', [
        { key: 'owner', value: 'ann' },
      ]);
      await call(backend, 'POST', '/rest/v1/targets/f-3/metadata', [
        { key: 'owner', value: 'Bob' },
      ]);
      const assigned = await call(
        backend,
        'POST',
        `/rest/v1/distributionsets/${setId}/assignedTargets`,
        [{ id: 'f-1' }, { id: 'f-4' }],
      );
      expect(assigned.status).toBe(200);
      await install(backend, 'f-4', assigned.json.assignedActions[1].id);
    }, 120_000);
    afterAll(async () => {
      await backend?.close();
    });

    const query = (q: string, extra = '') =>
      call(backend, 'GET', `/rest/v1/targets?q=${encodeURIComponent(q)}${extra}`);

    it('filters by each field, in hawkBit names, case-insensitively', async () => {
      const cases: [string, string[]][] = [
        ['group==lab', ['f-1', 'f-2']],
        ['group==Lab*', ['f-1', 'f-2', 'f-3']],
        ['group!=lab', ['f-3', 'f-4']],
        ['tag==red', ['f-1', 'f-2']],
        ['TAG.name==BLUE', ['f-2']],
        ['tag!=red', ['f-3', 'f-4']],
        ['tag=in=(blue,green)', ['f-2']],
        ['tag=out=(red,blue)', ['f-3', 'f-4']],
        ['metadata.owner==ANN', ['f-1']],
        ['metadata.owner=in=(ann,bob)', ['f-1', 'f-3']],
        ['metadata.owner!=ann', ['f-2', 'f-3', 'f-4']],
        ['assignedds.name==firmware', ['f-1', 'f-4']],
        ['assignedDS.version==1.0.0;tag==red', ['f-1']],
        ['installedds.name==Firmware', ['f-4']],
        ['installedds.version!=1.0.0', ['f-1', 'f-2', 'f-3']],
        ['group==lab,installedds.name==*', ['f-1', 'f-2', 'f-4']],
        // One user made and changed every target.
        ['createdby==ADMIN', ['f-1', 'f-2', 'f-3', 'f-4']],
        ['createdBy!=admin', []],
        ['lastModifiedBy==adm*;group==lab', ['f-1', 'f-2']],
        ['lastmodifiedby=in=(bob,carol),tag==blue', ['f-2']],
      ];
      for (const [q, expected] of cases) {
        const answer = await query(q);
        expect({ q, status: answer.status, got: ids(answer) }).toEqual({
          q,
          status: 200,
          got: expected,
        });
      }
      const one = await query('group==lab/bench');
      expect(one.json.content[0]).toMatchObject({ controllerId: 'f-3', group: 'Lab/Bench' });
    });

    it('sorts by the scalar fields and refuses a sort by tag', async () => {
      const byGroup = await call(
        backend,
        'GET',
        '/rest/v1/targets?sort=group:DESC,controllerId:ASC',
      );
      expect(ids(byGroup)).toEqual(['f-4', 'f-3', 'f-1', 'f-2']);
      // By code point, as every sort: upper case before lower case.
      const byOwner = await call(backend, 'GET', '/rest/v1/targets?sort=metadata.owner:ASC');
      expect(ids(byOwner)).toEqual(['f-3', 'f-1', 'f-2', 'f-4']);
      const bySet = await query('controllerId==f-*', '&sort=assignedds.name:ASC,controllerId:DESC');
      expect(ids(bySet)).toEqual(['f-4', 'f-1', 'f-3', 'f-2']);
      const byAuthor = await call(backend, 'GET', '/rest/v1/targets?sort=createdBy:ASC');
      expect(ids(byAuthor)).toEqual(['f-1', 'f-2', 'f-3', 'f-4']);
      const byTag = await call(backend, 'GET', '/rest/v1/targets?sort=tag:ASC');
      expect(byTag.status).toBe(400);
      expect(byTag.json.errorCode).toBe(SORT_FIELD);
      const unknown = await query('assignedds.type==os');
      expect(unknown.status).toBe(400);
      expect(unknown.json.errorCode).toBe(RSQL_FIELD);
    });

    it('moves the targets a filter on these fields selects into a group', async () => {
      const put = await call(
        backend,
        'PUT',
        `/rest/v1/targetgroups/Tagged?q=${encodeURIComponent('tag==red;createdBy==admin')}`,
      );
      expect(put.status).toBe(204);
      expect(ids(await call(backend, 'GET', '/rest/v1/targetgroups/Tagged/assigned'))).toEqual([
        'f-1',
        'f-2',
      ]);
      const none = await call(backend, 'PUT', '/rest/v1/targetgroups/Nobody?q=createdBy==bob');
      expect(none.status).toBe(204);
      expect((await call(backend, 'GET', '/rest/v1/targetgroups')).json).toEqual([
        'Lab/Bench',
        'Tagged',
      ]);
    });
  });
}

describeTargetFields('memory store', () => startTestBackend({ store: 'memory' }));
describeTargetFields('PGlite', () => startTestBackend());
