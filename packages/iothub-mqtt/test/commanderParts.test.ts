import type { SoftwareModule, StoredActionView } from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import {
  ACKNOWLEDGED_REF,
  acknowledgedByReport,
  CORRELATION_REF,
  CommandDelivery,
  cancelValue,
  IotHubError,
  installValue,
  type PendingCommand,
  pendingCommand,
  ReportQueue,
} from '../src/index.js';
import { collectingLogger, gate, waitFor } from './helpers.js';

const view = (status: string, refs: Record<string, string>, active = true) =>
  ({ id: 7, status, active, refs }) as unknown as StoredActionView;

describe('correlation', () => {
  it('owes install until acknowledged, cancel until the cancel is, nothing when closed or waiting', () => {
    expect(pendingCommand(view('RUNNING', {}))).toBe('install');
    expect(pendingCommand(view('RUNNING', { [CORRELATION_REF]: 'c' }))).toBe('install');
    expect(
      pendingCommand(view('RUNNING', { [CORRELATION_REF]: 'c', [ACKNOWLEDGED_REF]: 'install:c' })),
    ).toBeUndefined();
    expect(
      pendingCommand(
        view('CANCELING', { [CORRELATION_REF]: 'c', [ACKNOWLEDGED_REF]: 'install:c' }),
      ),
    ).toBe('cancel');
    expect(
      pendingCommand(view('CANCELING', { [CORRELATION_REF]: 'c', [ACKNOWLEDGED_REF]: 'cancel:c' })),
    ).toBeUndefined();
    expect(pendingCommand(view('CANCELING', {}))).toBeUndefined();
    expect(pendingCommand(view('WAIT_FOR_CONFIRMATION', {}))).toBeUndefined();
    expect(pendingCommand(view('FINISHED', {}, false))).toBeUndefined();
    expect(pendingCommand(undefined)).toBeUndefined();
  });

  it('a report acknowledges the install or the cancel it belongs to, once', () => {
    expect(acknowledgedByReport({}, 'c', 'DOWNLOADING')).toBe('install:c');
    expect(acknowledgedByReport({ [ACKNOWLEDGED_REF]: 'download:c' }, 'c', 'DOWNLOADING')).toBe(
      undefined,
    );
    expect(acknowledgedByReport({ [ACKNOWLEDGED_REF]: 'install:c' }, 'c', 'CANCELING')).toBe(
      'cancel:c',
    );
    expect(acknowledgedByReport({ [ACKNOWLEDGED_REF]: 'cancel:c' }, 'c', 'CANCEL_REJECTED')).toBe(
      undefined,
    );
    expect(acknowledgedByReport({}, 'c', 'FINISHED_SUCCESS')).toBeUndefined();
  });
});

describe('command values', () => {
  const module = {
    id: 3,
    name: 'app',
    version: '1.0',
    metadata: [{ key: 'k', value: 'v' }],
    artifacts: [{ filename: 'a.bin', size: 4, hashes: { sha1: 's1', md5: 'm5', sha256: 's256' } }],
  } as unknown as SoftwareModule;

  it('install carries every module with checksums and the link under its protocol', () => {
    const value = installValue(
      { type: 'forced', weight: 500 },
      [module],
      'c',
      (m, a) => `https://cdn.example/${m.id}/${a.filename}`,
    );
    expect(value).toEqual({
      correlationId: 'c',
      forced: true,
      weight: 500,
      softwareModules: [
        {
          softwareModule: { name: 'app', version: '1.0' },
          artifacts: [
            {
              filename: 'a.bin',
              size: 4,
              checksums: { SHA1: 's1', MD5: 'm5', SHA256: 's256' },
              download: { HTTPS: { url: 'https://cdn.example/3/a.bin' } },
            },
          ],
          metadata: { k: 'v' },
        },
      ],
    });
    expect(() =>
      installValue({ type: 'soft', weight: 0 }, [module], 'c', () => 'gopher://x'),
    ).toThrow(IotHubError);
  });

  it('install says weight null when the assignment named none (seed 000), the weight when it did', () => {
    const url = () => 'https://cdn.example/x';
    expect(
      installValue({ type: 'soft', weight: 1000, weightDefaulted: true }, [], 'c', url),
    ).toEqual({ correlationId: 'c', forced: false, weight: null, softwareModules: [] });
    expect(installValue({ type: 'soft', weight: 1000 }, [], 'c', url).weight).toBe(1000);
    expect(installValue({ type: 'soft', weight: 0 }, [], 'c', url).weight).toBe(0);
  });

  it('cancel names the modules without artifacts', () => {
    expect(cancelValue([module], 'c')).toEqual({
      correlationId: 'c',
      softwareModules: [{ softwareModule: { name: 'app', version: '1.0' } }],
    });
  });
});

describe('ReportQueue (on core KeyedLock)', () => {
  it('keeps each key in arrival order, runs keys in parallel, and a failure stays isolated', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const held = gate();
    const queue = new ReportQueue<string>({
      async work(key, item) {
        log.push(`start ${key}:${item}`);
        if (item === 'a1') await held.promise;
        if (item === 'a2') throw new Error('bad report');
        log.push(`end ${key}:${item}`);
      },
      onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`),
    });
    for (const item of ['a1', 'a2', 'a3']) queue.push('a', item);
    queue.push('b', 'b1');
    queue.push('b', 'b2');
    await waitFor(() => log.includes('end b:b2'), 'b done while a waits');
    expect(log).toEqual(['start a:a1', 'start b:b1', 'end b:b1', 'start b:b2', 'end b:b2']);
    held.open();
    await waitFor(() => log.includes('end a:a3'), 'a done');
    expect(log.slice(5)).toEqual(['end a:a1', 'start a:a2', 'start a:a3', 'end a:a3']);
    expect(errors).toEqual(['a: bad report']);
  });

  it('starts no work in the tick of the push (mqtt.js reads its next packet first)', async () => {
    const started: string[] = [];
    const queue = new ReportQueue<string>({
      work: async (_key, item) => void started.push(item),
      onError: () => {},
    });
    queue.push('k', 'x');
    await Promise.resolve();
    expect(started).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    await waitFor(() => started.length === 1, 'the work');
  });
});

describe('CommandDelivery', () => {
  const timeout = () => new IotHubError('RESPONSE_TIMEOUT', 'no answer');

  it('sends again with backoff while unanswered, and gives up after its attempts', async () => {
    const sends: number[] = [];
    const log = collectingLogger();
    const delivery = new CommandDelivery({
      retry: { attempts: 3, backoffMs: 5 },
      pendingCommand: async () => 'install',
      send: async () => {
        sends.push(Date.now());
        throw timeout();
      },
      log,
    });
    await delivery.deliver(1);
    expect(sends).toHaveLength(3);
    expect(log.lines.map((l) => `${l.level} ${l.message}`)).toEqual([
      'info command unanswered; sending again',
      'info command unanswered; sending again',
      'warn command unanswered; sent again when the device announces itself',
    ]);
    expect(log.lines[2]?.details).toEqual({ actionId: 1, command: 'install', attempts: 3 });
  });

  it('does not send again what the device refused, nor what it no longer owes', async () => {
    let sends = 0;
    const log = collectingLogger();
    const refused = new CommandDelivery({
      pendingCommand: async () => 'cancel',
      send: async () => {
        sends++;
        throw new IotHubError('COMMAND_FAILED', 'answered 400');
      },
      log,
    });
    await refused.deliver(2);
    expect(sends).toBe(1);
    expect(log.lines[0]).toMatchObject({ level: 'warn', message: 'command failed' });
    expect(log.lines[0]?.details?.err).toBeInstanceOf(IotHubError);

    let owed: PendingCommand | undefined = 'install';
    const sent: PendingCommand[] = [];
    const done = new CommandDelivery({
      retry: { attempts: 10, backoffMs: 1 },
      pendingCommand: async () => owed,
      send: async (_id, command) => {
        sent.push(command);
        owed = undefined; // a report acknowledged it meanwhile
        throw timeout();
      },
      log: collectingLogger(),
    });
    await done.deliver(3);
    expect(sent).toEqual(['install']);
  });

  it('one loop per action; resend wakes it from its pause with fresh attempts', async () => {
    let sends = 0;
    const delivery = new CommandDelivery({
      retry: { attempts: 2, backoffMs: 60_000 },
      pendingCommand: async () => 'install',
      send: async () => {
        if (++sends === 3) return;
        throw timeout();
      },
      log: collectingLogger(),
    });
    const loop = delivery.deliver(4);
    void delivery.deliver(4);
    await waitFor(() => sends === 1, 'first send');
    // Each wake cuts the 60 s pause short: the send goes out at once.
    await delivery.resend(4);
    await waitFor(() => sends === 2, 'second send, woken');
    await delivery.resend(4);
    await loop;
    expect(sends).toBe(3);
  });

  it('stop ends a loop in its pause', async () => {
    let sends = 0;
    const delivery = new CommandDelivery({
      retry: { attempts: 5, backoffMs: 60_000 },
      pendingCommand: async () => 'install',
      send: async () => {
        sends++;
        throw timeout();
      },
      log: collectingLogger(),
    });
    const loop = delivery.deliver(5);
    await waitFor(() => sends === 1, 'first send');
    delivery.stop();
    await loop;
    expect(sends).toBe(1);
  });
});
