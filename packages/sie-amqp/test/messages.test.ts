import { describe, expect, it } from 'vitest';
import {
  Deduplicator,
  encodeSieMessage,
  SIE_BODY_SCHEMAS,
  SIE_TOPICS,
  SieError,
  SieHeaders,
  toSieMessages,
  UpdateAssignmentBody,
} from '../src/index.js';
import {
  ALL_EVENTS,
  artifactUrls,
  assignment,
  manyTargets,
  SEED_BODIES,
  TENANT,
} from './fixtures.js';

describe('toSieMessages', () => {
  it('gives each topic the seed page headers and byte-exact example body', () => {
    const messages = ALL_EVENTS.flatMap((event) =>
      toSieMessages(event, { tenant: TENANT, artifactUrls }),
    );
    expect(messages.map((m) => m.topic)).toEqual([...SIE_TOPICS]);
    for (const message of messages) {
      const type = message.topic.startsWith('ACTION') ? 'ACTION_EVENT' : 'TARGET_EVENT';
      expect(message.headers).toEqual({ type, topic: message.topic, tenant: TENANT });
      const encoded = encodeSieMessage(message, { messageId: false });
      expect(encoded.content.toString('utf8')).toBe(SEED_BODIES[message.topic]);
      expect(encoded.options).toEqual({
        persistent: true,
        contentType: 'application/json',
        headers: { type, topic: message.topic, tenant: TENANT },
      });
    }
  });

  it('splits 2,500 targets into 1000 + 1000 + 500, each with the modules', () => {
    const messages = toSieMessages(manyTargets(2500), { tenant: TENANT });
    expect(messages).toHaveLength(3);
    const sizes = messages.map((m) =>
      m.topic === 'UPDATE_ASSIGNMENT' ? m.body.targets.length : -1,
    );
    expect(sizes).toEqual([1000, 1000, 500]);
    const ids = messages.flatMap((m) =>
      m.topic === 'UPDATE_ASSIGNMENT' ? m.body.targets.map((t) => t.actionId) : [],
    );
    expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    for (const m of messages) {
      if (m.topic !== 'UPDATE_ASSIGNMENT') throw new Error('unexpected topic');
      expect(m.body.softwareModules).toHaveLength(1);
    }
    expect(toSieMessages(manyTargets(1000), { tenant: TENANT })).toHaveLength(1);
    expect(toSieMessages(manyTargets(1001), { tenant: TENANT })).toHaveLength(2);
    expect(toSieMessages(manyTargets(0), { tenant: TENANT })).toHaveLength(0);
  });

  it('leaves urls empty without an artifactUrls callback, and refuses a chunk size over 1000', () => {
    const [message] = toSieMessages(assignment, { tenant: TENANT });
    if (message?.topic !== 'UPDATE_ASSIGNMENT') throw new Error('expected an assignment');
    expect(message.body.softwareModules[0]?.artifacts[0]?.urls).toEqual({});
    expect(() => toSieMessages(assignment, { tenant: TENANT, maxTargetsPerMessage: 1001 })).toThrow(
      SieError,
    );
  });

  it('refuses a domain event it does not know with a typed error', () => {
    const bogus = { type: 'NOPE' } as unknown as Parameters<typeof toSieMessages>[0];
    expect(() => toSieMessages(bogus, { tenant: TENANT })).toThrowError(
      expect.objectContaining({ code: 'INVALID_MESSAGE' }),
    );
  });
});

describe('schemas', () => {
  it('parse every seed example back to what was sent', () => {
    for (const topic of SIE_TOPICS) {
      const parsed = SIE_BODY_SCHEMAS[topic].parse(JSON.parse(SEED_BODIES[topic]));
      expect(parsed).toEqual(JSON.parse(SEED_BODIES[topic]));
    }
  });

  it('accept targetSecurityToken (the page template) as securityToken', () => {
    const body = JSON.parse(SEED_BODIES.UPDATE_ASSIGNMENT);
    body.targets[0].targetSecurityToken = body.targets[0].securityToken;
    delete body.targets[0].securityToken;
    const parsed = UpdateAssignmentBody.parse(body);
    expect(parsed.targets[0]).toEqual({
      actionId: 3,
      controllerId: 'device01',
      securityToken: '504a291d05869fdda709ebbe83ded429',
      type: 'forced',
      confirmation: 'not_applicable',
    });
    delete body.targets[0].targetSecurityToken;
    expect(UpdateAssignmentBody.safeParse(body).success).toBe(false);
  });

  it('read enums case-insensitively, keep extra fields and refuse wrong shapes', () => {
    const target = SIE_BODY_SCHEMAS.TARGET_UPDATED.parse({
      controllerId: 'a',
      updateStatus: 'in_sync',
      timestamp: 1,
      futureField: 'kept',
    });
    expect(target).toEqual({
      controllerId: 'a',
      updateStatus: 'IN_SYNC',
      timestamp: 1,
      futureField: 'kept',
    });
    const action = SIE_BODY_SCHEMAS.ACTION_UPDATED.parse({
      ...JSON.parse(SEED_BODIES.ACTION_UPDATED),
      actionStatus: 'finished',
      lastActionStatusCode: 200,
    });
    expect(action.actionStatus).toBe('FINISHED');
    expect(action.lastActionStatusCode).toBe('200');
    expect(
      SIE_BODY_SCHEMAS.TARGET_CREATED.safeParse({
        controllerId: 'a',
        updateStatus: 'SLEEPY',
        timestamp: 1,
      }).success,
    ).toBe(false);
    expect(SIE_BODY_SCHEMAS.ACTION_CREATED.safeParse({ actionId: 'x' }).success).toBe(false);
    expect(SieHeaders.safeParse({ type: 'TARGET_EVENT', topic: 'TARGET_CREATED' }).success).toBe(
      false,
    );
  });
});

describe('Deduplicator', () => {
  const message = (messageId: string | undefined, body: string) =>
    ({
      content: Buffer.from(body),
      properties: { messageId, headers: { tenant: 't', topic: 'TARGET_CREATED' } },
      fields: {},
    }) as unknown as Parameters<Deduplicator['keyOf']>[0];

  it('keys by message id, else by content hash, and forgets the least recently seen first', () => {
    const dedupe = new Deduplicator(2);
    expect(dedupe.keyOf(message('m1', 'x'))).toBe('id:m1');
    const a = dedupe.keyOf(message(undefined, 'x')) as string;
    const b = dedupe.keyOf(message(undefined, 'y')) as string;
    expect(a).not.toBe(b);
    expect(dedupe.keyOf(message(undefined, 'x'))).toBe(a);
    dedupe.remember(a);
    dedupe.remember(b);
    expect(dedupe.has(a)).toBe(true); // refreshes a: b is now the oldest
    dedupe.remember('c');
    expect(dedupe.size).toBe(2);
    expect(dedupe.has(b)).toBe(false);
    expect(dedupe.has(a)).toBe(true);
    expect(new Deduplicator(2, 'messageId').keyOf(message(undefined, 'x'))).toBeUndefined();
  });
});
