import { describe, expect, it } from 'vitest';
import {
  authorizePublish,
  authorizeSubscribe,
  type BrokerIdentity,
  commanderFilters,
  deliveredTopic,
  isTopicSegment,
  parseHonoUsername,
  sameSecret,
} from '../src/index.js';

const device: BrokerIdentity = { kind: 'device', tenant: 'acme', deviceId: 'd1' };
const commander: BrokerIdentity = { kind: 'commander', tenant: 'acme' };

describe('broker ACL (Hono-style, for the embedded broker)', () => {
  it('reads <auth-id>@<tenant> logins and refuses malformed ones and unsafe ids', () => {
    expect(parseHonoUsername('sensor1@DEFAULT_TENANT')).toEqual({
      authId: 'sensor1',
      tenant: 'DEFAULT_TENANT',
    });
    expect(parseHonoUsername('a@b@acme')).toEqual({ authId: 'a@b', tenant: 'acme' });
    for (const bad of [undefined, '', 'nobody', '@acme', 'd1@'])
      expect(parseHonoUsername(bad)).toBeUndefined();
    for (const bad of ['', '.', '..', 'a/b', 'a+', '#', 'a\u0000', 'a\u001b', 'x'.repeat(257)])
      expect(isTopicSegment(bad)).toBe(false);
    expect(isTopicSegment('com.acme:device-01')).toBe(true);
    expect(sameSecret(Buffer.from('s3cret'), 's3cret')).toBe(true);
    expect(sameSecret(Buffer.from('s3creT'), 's3cret')).toBe(false);
    expect(sameSecret(undefined, 's3cret')).toBe(false);
    expect(sameSecret('s3cre', 's3cret')).toBe(false);
  });

  it('lets a device publish reports and command responses for itself only, mapped to the explicit form', () => {
    expect(authorizePublish(device, 'e')).toBe('e/acme/d1');
    expect(authorizePublish(device, 'telemetry')).toBe('telemetry/acme/d1');
    expect(authorizePublish(device, 't//d1')).toBe('t/acme/d1');
    expect(authorizePublish(device, 'e/acme/d1')).toBe('e/acme/d1');
    expect(authorizePublish(device, 'e/?content-type=application%2Fjson')).toBe(
      'e/acme/d1/?content-type=application%2Fjson',
    );
    expect(authorizePublish(device, 'command///res/r1/204')).toBe('command/acme/d1/res/r1/204');
    expect(authorizePublish(device, 'c/acme/d1/s/r1/400')).toBe('c/acme/d1/s/r1/400');
    for (const forbidden of [
      'e/acme/d2', // another device's reports: the forged FINISHED_SUCCESS
      'e/other/d1',
      't//d2',
      'command/acme/d2/res/r1/204',
      'command/acme/d1/req/r1/install', // commands come from the cloud only
      'command///res/r1/100',
      'e/acme/d1/extra',
      '$SYS/x',
      'anything/else',
    ])
      expect(authorizePublish(device, forbidden), forbidden).toBeUndefined();
  });

  it('lets a device subscribe to its own commands only, and shows them in the form it subscribed with', () => {
    expect(authorizeSubscribe(device, 'command///req/#')).toEqual({
      filter: 'command/acme/d1/req/#',
      form: { tenant: false, device: false },
    });
    expect(authorizeSubscribe(device, 'c/acme/d1/q/#')).toEqual({ filter: 'c/acme/d1/q/#' });
    expect(authorizeSubscribe(device, 'e///#')?.filter).toBe('error/acme/d1/#');
    for (const forbidden of [
      'command/acme/d2/req/#', // reading another device's install command
      'command/acme/+/req/#',
      'command/+/+/req/#',
      '#',
      'e/acme/d2/#',
      'command/acme/d1/res/#',
      'c/acme/d1/req/#',
      '$SYS/#',
    ])
      expect(authorizeSubscribe(device, forbidden), forbidden).toBeUndefined();
    expect(deliveredTopic('command/acme/d1/req/r1/install', { tenant: false, device: false })).toBe(
      'command///req/r1/install',
    );
    expect(deliveredTopic('command/acme/d1/req/r1/install', undefined)).toBe(
      'command/acme/d1/req/r1/install',
    );
  });

  it('lets the commander use the commander topics of its tenant only', () => {
    for (const filter of commanderFilters('acme'))
      expect(authorizeSubscribe(commander, filter)).toEqual({ filter });
    expect(authorizeSubscribe(commander, '#')).toBeUndefined();
    expect(authorizeSubscribe(commander, 'e/other/+/#')).toBeUndefined();
    expect(authorizePublish(commander, 'command/acme/d1/req/r1/install')).toBe(
      'command/acme/d1/req/r1/install',
    );
    expect(authorizePublish(commander, 'e/acme/d1')).toBeUndefined();
    expect(authorizePublish(commander, 'command/other/d1/req/r1/install')).toBeUndefined();
    expect(authorizePublish(commander, 'command/acme//req/r1/install')).toBeUndefined();
  });
});
