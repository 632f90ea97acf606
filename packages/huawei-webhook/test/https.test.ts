import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHuaweiReceiverServer, HuaweiUpgradeDispatcher } from '../src/index.js';
import { createHuaweiPlatform } from '../src/testing.js';
import { setup } from './helpers.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = hasOpenssl();
if (!available) {
  if (process.env.CI === 'true')
    throw new Error('openssl is required for the HTTPS test (CI=true)');
  console.warn('\n*** SKIPPED: HTTPS receiver test, the openssl CLI is missing ***\n');
}

let dir: string;
let key: string;
let cert: string;

beforeAll(() => {
  if (!available) return;
  dir = mkdtempSync(join(tmpdir(), 'huawei-webhook-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!available)('HTTPS receiver with a self-signed certificate', () => {
  it('a platform that trusts the certificate delivers a full upgrade; one that does not cannot', async () => {
    const { service, set } = await setup({ deviceIds: ['dev-tls', 'dev-untrusted'] });
    const receiver = await createHuaweiReceiverServer({ service, tls: { key, cert } });
    const trusting = await createHuaweiPlatform({
      stepDelayMs: 2,
      startDelayMs: 2,
      callbackTls: { ca: cert },
    });
    const untrusting = await createHuaweiPlatform({
      stepDelayMs: 2,
      startDelayMs: 2,
      delivery: { retryIntervalMs: 5, messageTtlMs: 100 },
    });
    try {
      expect(receiver.url.startsWith('https://127.0.0.1:')).toBe(true);
      const dispatcher = new HuaweiUpgradeDispatcher({
        platformUrl: trusting.url,
        appId: trusting.appId,
        secret: trusting.secret,
        callbackUrl: receiver.url,
        deviceIdOf: (target) => (target.controllerId === 'dev-tls' ? 'dev-tls' : 'unused'),
      });
      await dispatcher.attach(service);
      const { actions } = await service.assign(set.id, [{ controllerId: 'dev-tls' }]);
      await dispatcher.idle();
      await trusting.settled();
      await dispatcher.stop();
      expect((await service.getAction(actions[0]!.id))?.status).toBe('FINISHED');
      expect(trusting.deliveries.every((d) => d.ok)).toBe(true);

      // The same receiver, pushed to by a platform without the CA: TLS fails, nothing is applied.
      const other = new HuaweiUpgradeDispatcher({
        platformUrl: untrusting.url,
        appId: untrusting.appId,
        secret: untrusting.secret,
        callbackUrl: receiver.url,
      });
      await other.attach(service);
      const second = await service.assign(set.id, [{ controllerId: 'dev-untrusted' }]);
      await other.idle();
      await untrusting.settled();
      await other.stop();
      expect(untrusting.deliveries.length).toBeGreaterThan(0);
      expect(untrusting.deliveries.every((d) => !d.ok && /certificate/i.test(d.error ?? ''))).toBe(
        true,
      );
      expect((await service.getAction(second.actions[0]!.id))?.status).toBe('RUNNING');
    } finally {
      await trusting.close();
      await untrusting.close();
      await receiver.close();
    }
  });
});
