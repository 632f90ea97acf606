import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnApp } from '@otaflow/cli';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SIGTERM', () => {
  it('says 503 on /readyz, stops taking connections, finishes the upload under way, then exits 0', async () => {
    const app = spawnApp(
      MAIN,
      ['--port', '0', '--store', 'memory', '--shutdown-delay-ms', '1500'],
      {
        env: {
          LOG_LEVEL: 'info',
          DATABASE_URL: undefined,
          MQTT_URL: undefined,
          AMQP_URL: undefined,
        },
      },
    );
    try {
      const ready = JSON.parse(await app.waitForLine((l) => l.includes('"msg":"ready"'), 60_000));
      const base = String(ready.url);
      const port = Number(new URL(base).port);
      const module = await fetch(`${base}/rest/v1/softwaremodules`, {
        method: 'POST',
        headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify([{ name: 'drain', version: '1', type: 'os' }]),
      });
      const moduleId = ((await module.json()) as { id: number }[])[0]?.id;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);

      // An upload whose body is only half sent when the signal comes.
      const boundary = 'drainboundary';
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="fw.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      );
      const payload = Buffer.alloc(64 * 1024, 7);
      const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
      let finishUpload = () => {};
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${base}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
          method: 'POST',
          headers: {
            Authorization: AUTH,
            'Content-Type': `multipart/form-data; boundary=${boundary}`,
            'Content-Length': head.length + payload.length + tail.length,
          },
        });
        req.once('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.once('error', reject);
        req.write(Buffer.concat([head, payload.subarray(0, 1000)]));
        finishUpload = () => req.end(Buffer.concat([payload.subarray(1000), tail]));
      });

      app.child.kill('SIGTERM');
      // First: still taking requests, but telling balancers to go elsewhere.
      await waitFor(
        async () => (await fetch(`${base}/readyz`).then((r) => r.status)) === 503,
        '/readyz 503',
      );
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      // Then: no new connection is taken, while the upload is still under way.
      await waitFor(() => refused(port), 'the listener to close');
      expect(app.child.exitCode).toBeNull();
      finishUpload();
      const uploaded = await answer;
      expect(uploaded.status).toBe(201);
      expect(JSON.parse(uploaded.body)).toMatchObject({ providedFilename: 'fw.bin', size: 65536 });
      const exit = await app.done;
      expect(exit.code).toBe(0);
      expect(exit.out).toContain('"msg":"stopped"');
      expect(exit.out).not.toContain('requests cut off');
    } finally {
      app.child.kill('SIGKILL');
    }
  }, 90_000);
});
