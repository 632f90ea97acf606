import { describe, expect, it } from 'vitest';
import {
  commandRequestTopic,
  commandResponseTopic,
  commandSubscription,
  correlationIdHeader,
  errorResponse,
  eventTopic,
  IotHubError,
  liveMessage,
  messageResponse,
  numericStatusCode,
  OperationStatus,
  parseDittoEnvelope,
  parseDittoTopic,
  parseHonoTopic,
  SoftwareUpdatableFeature,
  SoftwareUpdateAction,
  Suv2StatusSchema,
  softwareUpdatableFeature,
  splitThingId,
  telemetryTopic,
  twinMerge,
  twinModify,
} from '../src/index.js';

describe('Hono topics', () => {
  it('builds the long, short, authenticated and explicit forms', () => {
    expect(eventTopic()).toBe('event');
    expect(eventTopic({ short: true })).toBe('e');
    expect(telemetryTopic({ tenant: 't1', deviceId: 'd1', short: true })).toBe('t/t1/d1');
    expect(eventTopic({ deviceId: 'child' })).toBe('event//child');
    expect(eventTopic({ short: true }, { 'content-type': 'application/json' })).toBe(
      'e/?content-type=application%2Fjson',
    );
    expect(commandSubscription()).toBe('command///req/#');
    expect(commandSubscription({ short: true })).toBe('c///q/#');
    expect(commandSubscription({ tenant: 't1', deviceId: '+' })).toBe('command/t1/+/req/#');
    expect(commandRequestTopic({}, 'r-1', 'install')).toBe('command///req/r-1/install');
    expect(commandRequestTopic({}, '', 'modified')).toBe('command///req//modified');
    expect(commandResponseTopic({}, 'r-1', 204)).toBe('command///res/r-1/204');
    expect(commandResponseTopic({ tenant: 't', deviceId: 'd', short: true }, 'r', 400)).toBe(
      'c/t/d/s/r/400',
    );
  });

  it('refuses what Hono refuses', () => {
    expect(() => commandResponseTopic({}, 'r', 199)).toThrow(IotHubError);
    expect(() => commandResponseTopic({}, 'r', 600)).toThrow(IotHubError);
    expect(() => commandResponseTopic({}, '', 204)).toThrow(/one-way/);
    expect(() => eventTopic({ deviceId: 'a/b' })).toThrow(IotHubError);
  });

  it('parses every form back', () => {
    expect(
      parseHonoTopic('command///req/01fp-pdid6m-12i8u431qmpi1b-1m2zqv2replies/install'),
    ).toEqual({
      kind: 'command',
      tenant: '',
      deviceId: '',
      short: false,
      requestId: '01fp-pdid6m-12i8u431qmpi1b-1m2zqv2replies',
      command: 'install',
    });
    expect(parseHonoTopic('command///req//modified')).toMatchObject({
      kind: 'command',
      requestId: '',
      command: 'modified',
    });
    expect(parseHonoTopic('c/t1/d1/s/r/204')).toMatchObject({
      kind: 'commandResponse',
      tenant: 't1',
      deviceId: 'd1',
      status: 204,
    });
    expect(parseHonoTopic('e/t1/d1/?hono-ttl=30')).toMatchObject({
      kind: 'event',
      deviceId: 'd1',
      properties: { 'hono-ttl': '30' },
    });
    expect(parseHonoTopic('telemetry')).toMatchObject({
      kind: 'telemetry',
      tenant: '',
      deviceId: '',
    });
    expect(parseHonoTopic('e/t1/d1/event/5/400')).toBeUndefined(); // the error topic
    expect(parseHonoTopic('command///res/r/abc')).toBeUndefined();
    expect(parseHonoTopic('other/topic')).toBeUndefined();
  });
});

describe('Ditto envelopes', () => {
  it('splits thing ids at the first colon and reads topics', () => {
    expect(splitThingId('edge:device:edge:containers')).toEqual({
      namespace: 'edge',
      name: 'device:edge:containers',
    });
    expect(() => splitThingId('nocolon')).toThrow(IotHubError);
    expect(parseDittoTopic('com.acme/device-01/things/live/messages/a/b')).toMatchObject({
      channel: 'live',
      criterion: 'messages',
      action: 'a/b',
    });
  });

  it('keeps the two correlation ids apart and answers on the outbox', () => {
    const request = liveMessage({
      thingId: 'com.acme:device-01',
      featureId: 'SoftwareUpdatable',
      subject: 'install',
      value: { correlationId: 'business-id' },
      correlationId: 'message-id',
    });
    expect(request.path).toBe('/features/SoftwareUpdatable/inbox/messages/install');
    expect(request.topic).toBe('com.acme/device-01/things/live/messages/install');
    const ack = messageResponse(request, 204);
    expect(ack).toEqual({
      topic: request.topic,
      headers: { 'correlation-id': 'message-id', 'response-required': false },
      path: '/features/SoftwareUpdatable/outbox/messages/install',
      status: 204,
    });
    const error = errorResponse(request, {
      status: 400,
      error: 'messages:parameter.invalid',
      message: 'bad',
    });
    expect(error.value).toEqual({
      status: 400,
      error: 'messages:parameter.invalid',
      message: 'bad',
    });
    expect(correlationIdHeader({ headers: { 'Correlation-ID': 'x' } })).toBe('x');
  });

  it('builds fire-and-forget twin modify and merge', () => {
    const m = twinModify({
      thingId: 'a:b',
      path: '/features/F/properties/status/lastOperation',
      value: 1,
    });
    expect(m.topic).toBe('a/b/things/twin/commands/modify');
    expect(m.headers['response-required']).toBe(false);
    expect(
      twinMerge({ thingId: 'a:b', path: '/features/F', value: {} }).headers['content-type'],
    ).toBe('application/merge-patch+json');
  });

  it('rejects what is not an envelope', () => {
    expect(() => parseDittoEnvelope('nope')).toThrow(/not JSON/);
    expect(() => parseDittoEnvelope('{"topic":"a/b/things/twin/commands/modify"}')).toThrow(
      /not a Ditto envelope/,
    );
  });
});

describe('SoftwareUpdatable 2.0.0 schemas', () => {
  it('has the 18 statuses and nothing of 1.0.0', () => {
    expect(Suv2StatusSchema.options).toHaveLength(18);
    expect(Suv2StatusSchema.safeParse('CANCELED').success).toBe(false);
  });

  it('reads metaData and metadata, a null weight, and needs a correlationId', () => {
    const parsed = SoftwareUpdateAction.parse({
      correlationId: 'c',
      weight: null,
      softwareModules: [{ softwareModule: { name: 'n', version: '1' }, metaData: { k: 'v' } }],
    });
    expect(parsed.softwareModules[0]?.metadata).toEqual({ k: 'v' });
    expect(SoftwareUpdateAction.safeParse({ softwareModules: [] }).success).toBe(false);
  });

  it('tolerates real devices in OperationStatus', () => {
    expect(
      OperationStatus.parse({
        correlationID: 'c',
        status: 'DOWNLOADED_FILE_STORED',
        statusCode: '3',
      }),
    ).toEqual({
      correlationId: 'c',
      status: 'DOWNLOADED_FILE_STORED',
      statusCode: '3',
    });
    expect(numericStatusCode('3')).toBe(3);
    expect(numericStatusCode('x')).toBeUndefined();
    expect(OperationStatus.safeParse({ correlationId: 'c' }).success).toBe(false);
  });

  it('builds a feature that its own schema accepts', () => {
    const feature = softwareUpdatableFeature({
      softwareModuleType: 'app',
      installedDependencies: {},
    });
    expect(SoftwareUpdatableFeature.safeParse(feature).success).toBe(true);
    expect(
      SoftwareUpdatableFeature.safeParse({ ...feature, definition: ['x:y:1.0.0'] }).success,
    ).toBe(false);
  });
});
