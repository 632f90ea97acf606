import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MANAGEMENT_ROUTES } from '../../src/management/routes.js';
import { call } from '../helpers.js';
import {
  acceptArb,
  authArb,
  bodyArb,
  checkRequest,
  contentTypeArb,
  FUZZ_RUNS,
  fuzzParameters,
  headerList,
  methodArb,
  nastySegment,
  printTally,
  queryArb,
  type Seeded,
  StallMeter,
  startFuzzBackend,
} from './fuzzKit.js';

const SURFACE = 'Management API';
let seeded: Seeded;
let meter: StallMeter;
beforeAll(async () => {
  // Wrong passwords are part of the fuzz; the lock-out after ten of them would turn the rest of
  // the run into 429s, so it is set past the number of runs here (it has its own test).
  seeded = await startFuzzBackend({ mgmtAuthFailures: 10_000 });
  meter = new StallMeter();
});
afterAll(async () => {
  meter?.stop();
  printTally(SURFACE);
  await seeded?.backend.close();
});

/** Anything in place of a value: the wrong type, out of range, or absent. */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
);

function maybe<T>(arb: fc.Arbitrary<T>) {
  return fc.oneof({ weight: 5, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
}

/** Controller ids a client may try: plain, odd, control characters, dots, long. */
const controllerIdArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((id) => `fzn-${id}`),
  fc.constantFrom(
    '.',
    '..',
    'a\u0000b',
    'a\u001bb',
    ' x',
    'x/y',
    'a?b',
    'é',
    '*',
    'x'.repeat(256),
    '中'.repeat(256),
    'x'.repeat(257),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
);

/** Resource bodies of the right shape, with any field now and then of the wrong type. */
const resourceBodyArb = fc
  .oneof(
    fc.array(
      fc.record(
        {
          controllerId: maybe(controllerIdArb),
          name: maybe(fc.string({ maxLength: 80 })),
          description: maybe(fc.string({ maxLength: 20 })),
          securityToken: maybe(fc.string({ maxLength: 20 })),
          address: maybe(fc.constantFrom('http://x', 'not a uri')),
          requestAttributes: maybe(fc.boolean()),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    fc.array(
      fc.record(
        {
          name: maybe(fc.string({ maxLength: 70 })),
          version: maybe(fc.string({ maxLength: 70 })),
          type: maybe(fc.constantFrom('os', 'application', 'runtime', 'nope')),
          vendor: maybe(fc.string({ maxLength: 10 })),
          modules: maybe(
            fc.array(fc.record({ id: maybe(fc.integer({ min: -1, max: 5 })) }), { maxLength: 3 }),
          ),
          requiredMigrationStep: maybe(fc.boolean()),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    fc.array(
      fc.record(
        {
          id: maybe(fc.constantFrom('fz-1', 'fz-4', 'fzn-new', 1, 2)),
          type: maybe(fc.constantFrom('forced', 'soft', 'timeforced', 'downloadonly', 'x')),
          weight: maybe(fc.integer({ min: -5, max: 1005 })),
          forcetime: maybe(fc.integer()),
          confirmationRequired: maybe(fc.boolean()),
          maintenanceWindow: maybe(
            fc.record({
              schedule: maybe(fc.constantFrom('0 0 * * * ?', 'bad')),
              duration: maybe(fc.constantFrom('01:00:00', 'x')),
              timezone: maybe(fc.constantFrom('+00:00', 'Mars')),
            }),
          ),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  )
  .map((body) => JSON.stringify(body));

/** A value for a route parameter: one that exists, or anything else. */
function paramArb(s: Seeded, route: string, name: string): fc.Arbitrary<string> {
  const known =
    name === 'actionId'
      ? s.actions.map(([, id]) => String(id))
      : name === 'artifactId'
        ? [String(s.artifactId)]
        : route.startsWith('/targets')
          ? s.controllerIds.map(encodeURIComponent)
          : route.startsWith('/softwaremodules')
            ? [String(s.moduleId)]
            : [String(s.setId)];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: nastySegment },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 50 }).map(String) },
  );
}

/** A route from the API's own table with its parameters filled, or a path of random segments. */
function requestArb(s: Seeded) {
  const routed = fc.constantFrom(...MANAGEMENT_ROUTES).chain((route) => {
    const parts = route.path
      .split('/')
      .slice(1)
      .map((part) =>
        part.startsWith(':') ? paramArb(s, route.path, part.slice(1)) : fc.constant(part),
      );
    return fc.record({
      method: fc.oneof(
        { weight: 5, arbitrary: fc.constant(route.method as string) },
        { weight: 1, arbitrary: methodArb },
      ),
      segments: fc.tuple(...parts),
    });
  });
  const random = fc.record({
    method: methodArb,
    segments: fc.array(
      fc.oneof(fc.constantFrom('targets', 'softwaremodules', 'distributionsets'), nastySegment),
      {
        maxLength: 5,
      },
    ),
  });
  return fc.record({
    at: fc.oneof({ weight: 5, arbitrary: routed }, { weight: 1, arbitrary: random }),
    query: fc.option(queryArb, { nil: undefined }),
    trailingSlash: fc.boolean(),
    accept: acceptArb,
    contentType: fc.oneof(
      { weight: 3, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: contentTypeArb },
    ),
    authorization: authArb,
    body: fc.oneof(resourceBodyArb, bodyArb),
  });
}

describe(`fuzz: ${SURFACE}`, () => {
  it('never answers 5xx, never stalls, and changes nothing it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(seeded), async (r) => {
        const path = `/rest/v1${r.at.segments.map((segment) => `/${segment}`).join('')}${r.trailingSlash ? '/' : ''}`;
        await checkRequest(seeded.backend, meter, {
          method: r.at.method,
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

describe(`fuzz: ${SURFACE}, accepted ids are addressable`, () => {
  it('a created target is served back by the same id, and is that target', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(controllerIdArb, async (id) => {
        const controllerId = id;
        const post = await call(seeded.backend, 'POST', '/rest/v1/targets', [{ controllerId }]);
        if (post.status >= 500) throw new Error(`server error creating ${JSON.stringify(id)}`);
        if (post.status !== 201) return;
        created++;
        // The id as stored: what the answer says it created.
        const stored = post.json?.[0]?.controllerId;
        if (stored !== id)
          throw new Error(`created ${JSON.stringify(stored)} for ${JSON.stringify(id)}`);
        const get = await call(seeded.backend, 'GET', `/rest/v1/targets/${encodeURIComponent(id)}`);
        if (get.status !== 200 || Array.isArray(get.json?.content) || get.json?.controllerId !== id)
          throw new Error(
            `created ${JSON.stringify(id)} but GET by its id answered ${get.status} ${get.text.slice(0, 200)}`,
          );
        // The same through its own resources: a target that cannot be deleted cannot be managed.
        const attributes = await call(
          seeded.backend,
          'GET',
          `/rest/v1/targets/${encodeURIComponent(id)}/attributes`,
        );
        // hawkBit answers 204 for a target without attributes.
        if (attributes.status !== 200 && attributes.status !== 204)
          throw new Error(`attributes of ${JSON.stringify(id)} answered ${attributes.status}`);
      }),
      fuzzParameters(Math.min(FUZZ_RUNS, 150)),
    );
    if (created === 0) throw new Error('no target was created: the property tested nothing');
  });
});
