import {
  HUAWEI_NOTIFY_TYPES,
  HUAWEI_SUB_OPERATION_REF,
  subOperationRef,
} from '@otaflow/huawei-webhook';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { HUAWEI_RECEIVER_PATH } from '../../src/server.js';
import {
  bodyArb,
  checkRequest,
  contentTypeArb,
  fuzzParameters,
  headerList,
  methodArb,
  printTally,
  type RawAnswer,
  type Seeded,
  StallMeter,
  startFuzzBackend,
} from './fuzzKit.js';

const SURFACE = 'Huawei receiver';
const SECRET = 'fuzz-callback-secret';
const DEVICE = 'fz-1';
let seeded: Seeded;
let meter: StallMeter;
beforeAll(async () => {
  seeded = await startFuzzBackend({ huaweiCallbackSecret: SECRET });
  meter = new StallMeter();
  // The platform's ids for fz-1's action, as the dispatcher stores them.
  const actionId = seeded.actions.find(([id]) => id === DEVICE)?.[1];
  if (actionId === undefined) throw new Error('no action to match');
  await seeded.backend.service.setActionRef(
    actionId,
    HUAWEI_SUB_OPERATION_REF,
    subOperationRef(DEVICE, 'op-1', 'sub-1'),
  );
});
afterAll(async () => {
  meter?.stop();
  printTally(SURFACE);
  await seeded?.backend.close();
});

/**
 * An id field: the one stored, or one the schema refuses. A well-formed id that matches nothing
 * is left out on purpose: the receiver waits up to 2 s for its action to appear (by design), which
 * would spend the run's budget on waiting.
 */
function idArb(known: string) {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(known as unknown) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', 7, null, ['x'], {}, 'x'.repeat(257), undefined),
    },
  );
}

const text = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.constant('x'.repeat(5000)),
  fc.integer(),
  fc.constant(null),
);

const notificationArb = fc
  .record(
    {
      notifyType: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...HUAWEI_NOTIFY_TYPES) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('deviceDataChanged', '', 7, '__proto__', 'constructor'),
        },
      ),
      deviceId: idArb(DEVICE),
      appId: fc.oneof(fc.constant('otaflow-app'), text),
      operationId: idArb('op-1'),
      subOperationId: idArb('sub-1'),
      swUpgradeState: fc.oneof(
        fc.constantFrom(
          'downloading',
          'downloaded',
          'updating',
          'idle',
          'otacreated',
          'RequestDownload',
        ),
        text,
      ),
      swUpgradeResult: fc.oneof(fc.constantFrom('SUCCESS', 'FAIL', 'success', 'x'), text),
      step: fc.oneof(fc.constantFrom('0', '1', '2', '3', '9'), text),
      stepDesc: text,
      status: fc.oneof(fc.constantFrom('SUCCESS', 'FAIL'), text),
      statusDesc: text,
      curVersion: text,
      targetVersion: text,
      sourceVersion: text,
      upgradeTime: fc.oneof(fc.integer(), fc.constant('1e309'), text),
      errorCode: fc.oneof(fc.integer(), fc.constantFrom('12', '1e309', ''), text),
      resultDesc: text,
      description: text,
    },
    { requiredKeys: ['notifyType'] },
  )
  .map((body) => JSON.stringify(body));

const requestArb = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('POST') },
    { weight: 1, arbitrary: methodArb },
  ),
  query: fc.oneof(
    { weight: 6, arbitrary: fc.constant(`secret=${SECRET}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        'secret=',
        'secret=wrong',
        `secret=${SECRET}x`,
        `secret=${SECRET}&secret=x`,
        'secret=%ZZ',
        `secret=${'s'.repeat(5000)}`,
      ),
    },
  ),
  pathSuffix: fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('/', '/x', '%2F', '/..') },
  ),
  contentType: fc.oneof(
    { weight: 4, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: contentTypeArb },
  ),
  body: fc.oneof({ weight: 4, arbitrary: notificationArb }, { weight: 1, arbitrary: bodyArb }),
});

/** A 200 that did not apply the push (ignored, refused, duplicate) is a refusal too. */
function refused(answer: RawAnswer): boolean {
  if (answer.status !== 200) return true;
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { result?: string }).result !== 'applied';
  } catch {
    return true;
  }
}

describe(`fuzz: ${SURFACE}`, () => {
  it('never answers 5xx, never stalls, and changes nothing it refuses', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        await checkRequest(
          seeded.backend,
          meter,
          {
            method: r.method,
            target: `${HUAWEI_RECEIVER_PATH}${r.pathSuffix}?${r.query}`,
            headers: headerList({ 'Content-Type': r.contentType }),
            ...(r.body === undefined ? {} : { body: r.body }),
          },
          refused,
        );
      }),
      fuzzParameters(),
    );
  });
});
