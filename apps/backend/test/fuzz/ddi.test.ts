import { DDI_EXECUTIONS, INSTALLED_REPORT_REF, type StoredActionView } from '@otaflow/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { call } from '../helpers.js';
import {
  acceptArb,
  bodyArb,
  checkRequest,
  contentTypeArb,
  encodeLoosely,
  FUZZ_RUNS,
  fuzzParameters,
  headerList,
  methodArb,
  nastySegment,
  printTally,
  type RawAnswer,
  type Seeded,
  StallMeter,
  startFuzzBackend,
} from './fuzzKit.js';

const SURFACE = 'DDI';
let seeded: Seeded;
let meter: StallMeter;
beforeAll(async () => {
  seeded = await startFuzzBackend();
  meter = new StallMeter();
});
afterAll(async () => {
  meter?.stop();
  printTally(SURFACE);
  await seeded?.backend.close();
});

/** Anything in place of a value: the wrong type, out of range, or absent. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.constant({}),
);

function maybe<T>(arb: fc.Arbitrary<T>) {
  return fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
}

/** DDI feedback as devices send it, with any field replaced by the wrong thing now and then. */
const feedbackArb = fc
  .record(
    {
      id: maybe(fc.integer({ min: 0, max: 20 }).map(String)),
      time: maybe(fc.constantFrom('20240101T000000', 'not a time')),
      status: maybe(
        fc.record(
          {
            execution: maybe(
              fc.constantFrom(
                'closed',
                'proceeding',
                'canceled',
                'scheduled',
                'rejected',
                'resumed',
                'download',
                'downloaded',
                'CLOSED',
                'bogus',
              ),
            ),
            result: maybe(
              fc.record(
                {
                  finished: maybe(fc.constantFrom('success', 'failure', 'none', 'SUCCESS', 'x')),
                  progress: maybe(fc.record({ cnt: maybe(fc.integer()), of: maybe(fc.integer()) })),
                },
                { requiredKeys: [] },
              ),
            ),
            details: maybe(fc.array(maybe(fc.string({ maxLength: 30 })), { maxLength: 4 })),
            code: maybe(fc.integer()),
          },
          { requiredKeys: [] },
        ),
      ),
      confirmation: maybe(fc.constantFrom('confirmed', 'denied', 'x')),
      data: maybe(fc.dictionary(fc.string({ maxLength: 8 }), maybe(fc.string({ maxLength: 8 })))),
      mode: maybe(fc.constantFrom('merge', 'replace', 'remove', 'x')),
      details: maybe(fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body));

function requestArb(s: Seeded) {
  const actionIds = s.actions.map(([, id]) => String(id));
  const actionId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...actionIds) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 1000 }).map(String) },
    { weight: 1, arbitrary: nastySegment },
  );
  const resource = fc.oneof(
    fc.constant([] as string[]),
    fc.tuple(
      fc.constantFrom('deploymentBase', 'cancelAction', 'installedBase', 'confirmationBase'),
      actionId,
    ),
    fc
      .tuple(fc.constantFrom('deploymentBase', 'cancelAction', 'confirmationBase'), actionId)
      .map((p) => [...p, 'feedback']),
    fc.constantFrom(
      ['installedBase'],
      ['configData'],
      ['confirmationBase'],
      ['confirmationBase', 'activateAutoConfirm'],
      ['confirmationBase', 'deactivateAutoConfirm'],
    ),
    fc.tuple(
      fc.constant('softwaremodules'),
      fc.oneof(fc.constant(String(s.moduleId)), nastySegment),
      fc.constant('artifacts'),
    ),
    fc.tuple(
      fc.constant('softwaremodules'),
      fc.oneof(fc.constant(String(s.moduleId)), nastySegment),
      fc.constant('artifacts'),
      fc.oneof(fc.constant(s.filename), fc.constant(`${s.filename}.MD5SUM`), nastySegment),
    ),
    fc.array(nastySegment, { minLength: 1, maxLength: 4 }),
  );
  return fc.record({
    method: methodArb,
    tenant: fc.oneof(
      { weight: 8, arbitrary: fc.constant('DEFAULT') },
      { weight: 1, arbitrary: fc.constantFrom('default', 'other', '%44EFAULT') },
      { weight: 1, arbitrary: nastySegment },
    ),
    controllerId: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...s.controllerIds) },
      { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/) },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
          .map(encodeURIComponent),
      },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 })
          .map(encodeLoosely),
      },
      { weight: 2, arbitrary: nastySegment },
    ),
    resource,
    trailingSlash: fc.boolean(),
    query: fc.option(
      fc.constantFrom('c=-2', 'actionHistory=5', 'actionHistory=-1', 'actionHistory=x', '%ZZ=%ZZ'),
      {
        nil: undefined,
      },
    ),
    accept: acceptArb,
    contentType: contentTypeArb,
    authorization: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('TargetToken x', 'GatewayToken y', 'Basic !!!', '') },
    ),
    body: fc.oneof(feedbackArb, bodyArb),
  });
}

describe(`fuzz: ${SURFACE}`, () => {
  it('never answers 5xx, never stalls, and changes nothing it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(seeded), async (r) => {
        const path = `/${r.tenant}/controller/v1/${[r.controllerId, ...r.resource].join('/')}${r.trailingSlash ? '/' : ''}`;
        await checkRequest(seeded.backend, meter, {
          method: r.method,
          target: r.query === undefined ? path : `${path}?${r.query}`,
          headers: headerList({
            Accept: r.accept,
            'Content-Type': r.contentType,
            Authorization: r.authorization,
          }),
          ...(r.body === undefined ? {} : { body: r.body }),
        });
      }),
      fuzzParameters(),
    );
  });
});

// ------------------------------------------------------------------ well-formed, where the logic is

/**
 * A value written into the JSON text as is, not as a string: numbers no double holds reach the
 * parser as numbers. `\u0001` cannot come out of the generators below in this form.
 */
const RAW = '\u0001raw:';
const raw = (text: string) => `${RAW}${text}`;
function toJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:([^"]*)"/g, '$1');
}

/** Integers at every limit a device may send: 32 and 53 bits, negative. */
const limitInt = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    100,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
  fc.integer(),
);

/** Now and then a number that is no integer or no double: fractions, past 2^53, past a double. */
const limitNumber = fc.oneof(
  { weight: 8, arbitrary: limitInt },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      0.5,
      raw('1e309'),
      raw('-1e309'),
      raw('18446744073709551616'),
      raw('-0'),
      raw('1E2'),
    ),
  },
);

/** `details`: a few lines of any script, thousands of lines, huge lines, lone surrogates. */
const detailsArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 5 }),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 3000 })
      .map((n) => Array.from({ length: n }, (_, i) => `line ${i}`)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ['x'.repeat(100_000)],
      ['\ud800', '\u0000', '\u202e🚀', 'ä'.repeat(5000)],
      // Past any sane body limit: a 413, and nothing stored.
      ['y'.repeat(3_000_000)],
    ),
  },
);

/** Present in about one body of `freq`. */
const sometimes = <T>(arb: fc.Arbitrary<T>, freq = 3) =>
  fc.oneof({ weight: freq - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
/** Absent in about one body of `freq`: a field a device usually sends. */
const usually = <T>(arb: fc.Arbitrary<T>, freq = 8) => fc.option(arb, { nil: undefined, freq });

/** DDI action feedback of the right shape: every execution with every finished value. */
const wellFormedFeedback = fc
  .record({
    execution: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...DDI_EXECUTIONS) },
      { weight: 1, arbitrary: fc.constantFrom('CLOSED', 'bogus', '') },
    ),
    finished: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom('success', 'failure', 'none') },
      { weight: 1, arbitrary: fc.constantFrom('SUCCESS', 'x') },
    ),
    progress: sometimes(fc.record({ cnt: limitNumber, of: usually(limitNumber, 3) }), 2),
    details: sometimes(detailsArb, 2),
    code: sometimes(limitNumber),
    legacy: fc.boolean(),
    timestamp: sometimes(
      fc.oneof(
        { weight: 6, arbitrary: fc.nat() },
        { weight: 1, arbitrary: fc.constantFrom(-1, raw('1e309')) },
      ),
      4,
    ),
  })
  .map((f) =>
    toJson({
      ...(f.legacy ? { id: '1', time: '20240101T000000' } : {}),
      ...(f.timestamp === undefined ? {} : { timestamp: f.timestamp }),
      status: {
        execution: f.execution,
        result: { finished: f.finished, ...(f.progress ? { progress: f.progress } : {}) },
        ...(f.details === undefined ? {} : { details: f.details }),
        ...(f.code === undefined ? {} : { code: f.code }),
      },
    }),
  );

/** Attribute keys and values: unicode, empty, exactly at and one past the 128-character limit. */
const attributeKey = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.constantFrom(
    '',
    'k'.repeat(128),
    'k'.repeat(129),
    'ä'.repeat(128),
    '\u0000',
    'a.b',
    'hasOwnProperty',
  ),
);
const attributeValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.constant(null),
  fc.constantFrom('', 'v'.repeat(128), 'v'.repeat(129), '🚀'.repeat(64), '\ud800'),
);

/** configData: a few odd attributes, or many around the quota of 100, in every mode. */
const configDataArb = fc
  .record({
    data: fc.oneof(
      fc.dictionary(attributeKey, attributeValue, { maxKeys: 8 }),
      fc
        .record({
          n: fc.integer({ min: 90, max: 160 }),
          prefix: fc.constantFrom('k', 'm'),
          nulls: fc.boolean(),
        })
        .map(({ n, prefix, nulls }) =>
          Object.fromEntries(
            Array.from({ length: n }, (_, i) => [
              `${prefix}${i}`,
              nulls && i % 3 === 0 ? null : `v${i}`,
            ]),
          ),
        ),
      fc.constant(JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>),
    ),
    mode: fc.constantFrom(undefined, 'merge', 'replace', 'remove', 'x'),
  })
  .map(({ data, mode }) => JSON.stringify(mode === undefined ? { data } : { data, mode }));

const confirmationArb = fc
  .record({
    confirmation: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('confirmed', 'denied') },
      { weight: 1, arbitrary: fc.constantFrom('x', 'CONFIRMED') },
    ),
    code: sometimes(limitNumber),
    details: sometimes(detailsArb, 2),
  })
  .map(toJson);

const activateArb = fc
  .record({
    initiator: sometimes(
      fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('i'.repeat(64), 'i'.repeat(65))),
    ),
    remark: sometimes(
      fc.oneof(fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constant('r'.repeat(513))),
    ),
  })
  .map(toJson);

const installedArb = fc
  .record({
    name: usually(fc.constantFrom('fuzz', 'fuzz', 'other', '')),
    version: usually(fc.constantFrom('1.0.0', '1.0.0', '9', '')),
  })
  .map(toJson);

type ActionPick = 'own' | 'other' | 'unknown';

/** One DDI resource with its own method and a body of its own kind. */
interface Call {
  method: string;
  /** After `/{controllerId}`; `{a}` is replaced by an action id chosen when the run starts. */
  path: string;
  body?: string;
}

function wellFormedArb(s: Seeded) {
  const module = `/softwaremodules/${s.moduleId}/artifacts`;
  const call = fc.oneof(
    fc.constant<Call>({ method: 'GET', path: '' }),
    fc.constantFrom<Call>(
      { method: 'GET', path: '/deploymentBase/{a}' },
      { method: 'GET', path: '/cancelAction/{a}' },
      { method: 'GET', path: '/installedBase/{a}' },
      { method: 'GET', path: '/confirmationBase' },
      { method: 'GET', path: '/confirmationBase/{a}' },
      { method: 'GET', path: module },
      { method: 'GET', path: `${module}/${s.filename}` },
      { method: 'HEAD', path: `${module}/${s.filename}` },
      { method: 'GET', path: `${module}/${s.filename}.MD5SUM` },
    ),
    {
      weight: 6,
      arbitrary: fc
        .tuple(
          // Mostly the resource the action's state calls for; sometimes the other one.
          fc.constantFrom('{fb}', '{fb}', '{fb}', 'deploymentBase', 'cancelAction'),
          wellFormedFeedback,
        )
        .map(
          ([resource, body]): Call => ({ method: 'POST', path: `/${resource}/{a}/feedback`, body }),
        ),
    },
    {
      weight: 2,
      arbitrary: confirmationArb.map(
        (body): Call => ({ method: 'POST', path: '/confirmationBase/{a}/feedback', body }),
      ),
    },
    {
      weight: 3,
      arbitrary: configDataArb.map((body): Call => ({ method: 'PUT', path: '/configData', body })),
    },
    fc.constant<Call>({ method: 'POST', path: '/confirmationBase/deactivateAutoConfirm' }),
    {
      weight: 1,
      arbitrary: activateArb.map(
        (body): Call => ({ method: 'POST', path: '/confirmationBase/activateAutoConfirm', body }),
      ),
    },
    {
      weight: 1,
      arbitrary: installedArb.map(
        (body): Call => ({ method: 'PUT', path: '/installedBase', body }),
      ),
    },
  );
  return fc.record({
    controllerId: fc.constantFrom(...s.controllerIds),
    call,
    action: fc.oneof(
      { weight: 8, arbitrary: fc.constant<ActionPick>('own') },
      { weight: 1, arbitrary: fc.constantFrom<ActionPick>('other', 'unknown') },
    ),
    /** Which of the picked actions: the newest, an older one, ... */
    pick: fc.nat(),
    accept: fc.constantFrom(undefined, 'application/json', 'application/hal+json', '*/*'),
  });
}

/** Assignments that keep the devices busy, in turn: each kind of action the DDI resources serve. */
const REPLENISH = ['forced', 'confirm', 'downloadonly', 'cancel', 'soft', 'timeforced'] as const;
let replenished = 0;

/** Gives every device that has no active action a new one, so that feedback has a live target. */
async function keepBusy(s: Seeded): Promise<void> {
  for (const controllerId of s.actions.map(([id]) => id)) {
    const actions = await s.backend.service.listActions(controllerId);
    if (actions.some((a) => a.active)) continue;
    const kind = REPLENISH[replenished++ % REPLENISH.length];
    const assignment: Record<string, unknown> = { id: controllerId, type: 'forced' };
    if (kind === 'confirm') assignment.confirmationRequired = true;
    else if (kind === 'downloadonly' || kind === 'soft') assignment.type = kind;
    else if (kind === 'timeforced') {
      assignment.type = 'timeforced';
      assignment.forcetime = Date.now() + 60_000;
    }
    const answer = await call(
      s.backend,
      'POST',
      `/rest/v1/distributionsets/${s.setId}/assignedTargets`,
      [assignment],
    );
    if (answer.status !== 200)
      throw new Error(`re-assignment answered ${answer.status} ${answer.text}`);
    if (kind === 'cancel') {
      const [newest] = (await s.backend.service.listActions(controllerId)).sort(
        (a, b) => b.id - a.id,
      );
      if (newest) await s.backend.service.cancel(newest.id, ['fuzz']);
    }
  }
}

/** An action id for the run: one of the device's own, another device's, or none at all. */
async function resolveAction(
  s: Seeded,
  controllerId: string,
  which: ActionPick,
  pick: number,
  prefer: string | undefined,
) {
  if (which === 'unknown') return 999_999;
  const { service } = s.backend;
  let ids: number[];
  if (which === 'own') {
    const actions = (await service.listActions(controllerId)).sort((a, b) => b.id - a.id);
    // Mostly an active one, where the logic is; now and then a final one, which must not move.
    let active = actions.filter((a) => a.active);
    // The state the resource serves, when the device has an action in it.
    const preferred = active.filter((a) => a.status === prefer);
    if (preferred.length > 0) active = preferred;
    ids = (pick % 4 !== 0 && active.length > 0 ? active : actions).map((a) => a.id);
  } else {
    ids = [];
    for (const other of s.controllerIds)
      if (other !== controllerId) for (const a of await service.listActions(other)) ids.push(a.id);
  }
  return ids.length === 0 ? 999_999 : (ids[Math.floor(pick / 4) % ids.length] ?? 999_999);
}

/** Every final action as it was when it became final: action and history. */
const finals = new Map<number, string>();

/** Records newly final actions, and throws when one that was final has moved. */
async function checkFinals(s: Seeded, what: string): Promise<void> {
  const { service } = s.backend;
  for (const controllerId of s.controllerIds) {
    for (const action of await service.listActions(controllerId)) {
      // A device's report of what it runs after its restart (PUT installedBase) marks its last
      // finished action for rollouts: a note beside the action, not a move of it.
      const { [INSTALLED_REPORT_REF]: _reported, ...refs } = (action as StoredActionView).refs;
      const now = JSON.stringify({
        action: { ...action, refs },
        history: await service.getActionHistory(action.id),
      });
      const was = finals.get(action.id);
      if (was !== undefined && was !== now)
        throw new Error(`final action ${action.id} moved: ${what}\nwas ${was}\nnow ${now}`);
      if (!action.active) finals.set(action.id, now);
    }
  }
}

/** Answers of the well-formed runs, by resource and status: proof the fuzz reaches the logic. */
const reached = new Map<string, number>();

function countReached(c: Call, answer: RawAnswer): void {
  const resource =
    c.path
      .split('/')
      .slice(1, 3)
      .join('/')
      .replace(/\/\d+$/, '') || 'root';
  const key = `${c.method} ${resource} ${answer.status}`;
  reached.set(key, (reached.get(key) ?? 0) + 1);
}

describe(`fuzz: ${SURFACE}, well-formed requests on real devices and actions`, () => {
  it('never answers 5xx or stalls, changes nothing it refuses, and never moves a final action', async () => {
    await checkFinals(seeded, 'seed');
    await fc.assert(
      fc.asyncProperty(wellFormedArb(seeded), async (r) => {
        await keepBusy(seeded);
        await checkFinals(seeded, 'before the run');
        const prefer = r.call.path.startsWith('/confirmationBase/')
          ? 'WAIT_FOR_CONFIRMATION'
          : r.call.path.startsWith('/cancelAction/')
            ? 'CANCELING'
            : undefined;
        const actionId = await resolveAction(seeded, r.controllerId, r.action, r.pick, prefer);
        const status = (await seeded.backend.service.getAction(actionId))?.status;
        const feedback = status === 'CANCELING' ? 'cancelAction' : 'deploymentBase';
        const path = r.call.path.replace('{a}', String(actionId)).replace('{fb}', feedback);
        const target = `/DEFAULT/controller/v1/${encodeURIComponent(r.controllerId)}${path}`;
        const request = {
          method: r.call.method,
          target,
          headers: headerList({
            Accept: r.accept,
            'Content-Type': r.call.body === undefined ? undefined : 'application/json',
          }),
          ...(r.call.body === undefined ? {} : { body: r.call.body }),
        };
        const answer = await checkRequest(seeded.backend, meter, request);
        countReached(r.call, answer);
        await checkFinals(seeded, `${request.method} ${target} -> ${answer.status}`);
        // Another device's action, or none: never served, never changed (the snapshot shows it).
        if (r.action !== 'own' && r.call.path.includes('{a}') && answer.status < 400)
          throw new Error(`served an action that is not the device's: ${request.method} ${target}`);
      }),
      fuzzParameters(FUZZ_RUNS * 2),
    );
    if (process.env.FUZZ_TALLY)
      console.info(
        [...reached]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, n]) => `${key} x${n}`)
          .join('\n'),
      );
    // The point of this property: most requests get past routing and reach an endpoint's logic.
    const total = [...reached.values()].reduce((a, b) => a + b, 0);
    const routed = [...reached]
      .filter(([key]) => !key.endsWith(' 401') && !key.endsWith(' 405'))
      .reduce((a, [, n]) => a + n, 0);
    if (routed < total * 0.9) throw new Error(`only ${routed} of ${total} requests were routed`);
  });
});

/** Ids a new device may poll with: plain, unicode, control characters, dots, long, escapes. */
const newControllerId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/).map((id) => `fzd-${id}`),
  fc.constantFrom(
    '.',
    '..',
    'a\u0000b',
    'a\u001bb',
    ' x',
    'é',
    '*',
    '%41',
    'x'.repeat(256),
    'x'.repeat(257),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
);

describe(`fuzz: ${SURFACE}, registered ids are addressable`, () => {
  it('a device registered by its first poll is that target, by the same id, everywhere', async () => {
    let registered = 0;
    await fc.assert(
      fc.asyncProperty(newControllerId, async (controllerId) => {
        const { backend } = seeded;
        const known = await backend.service.getTarget(controllerId);
        const target = `/DEFAULT/controller/v1/${encodeURIComponent(controllerId)}`;
        const answer = await checkRequest(backend, meter, {
          method: 'GET',
          target,
          headers: [['Accept', 'application/json']],
        });
        if (answer.status !== 200) return;
        if (!known) registered++;
        const stored = await backend.service.getTarget(controllerId);
        if (stored?.controllerId !== controllerId)
          throw new Error(
            `${target} answered 200 but no target ${JSON.stringify(controllerId)} is stored`,
          );
        const get = await call(
          backend,
          'GET',
          `/rest/v1/targets/${encodeURIComponent(controllerId)}`,
        );
        if (get.status !== 200 || get.json?.controllerId !== controllerId)
          throw new Error(
            `${JSON.stringify(controllerId)} registered but the Management API answered ${get.status} ${get.text.slice(0, 200)}`,
          );
        // Its links name it by the same id: what the device follows next must be itself.
        const again = await checkRequest(backend, meter, {
          method: 'GET',
          target,
          headers: [['Accept', 'application/json']],
        });
        if (again.status !== 200)
          throw new Error(`second poll of ${target} answered ${again.status}`);
      }),
      fuzzParameters(Math.min(FUZZ_RUNS, 150)),
    );
    if (registered === 0) throw new Error('no device registered: the property tested nothing');
  });
});
