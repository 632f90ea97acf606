import net from 'node:net';
import { openServerDb } from '@otaflow/store-postgres';

/** The PostgreSQL server tests make their scratch databases on. */
export const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Whether a service a test needs answers: with CI=true a missing one fails the run; elsewhere
 * the test is skipped, saying loudly what was skipped and why.
 */
export async function serviceAvailable(
  service: string,
  test: string,
  check: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`${service} is required in CI: ${error}`);
    console.warn(`SKIPPING ${test}: ${service} not reachable (${error})`);
    return false;
  }
}

export function postgresAvailable(test: string): Promise<boolean> {
  return serviceAvailable(`PostgreSQL at ${ADMIN_URL}`, test, async () => {
    const db = await openServerDb(ADMIN_URL);
    await db.query('SELECT 1');
    await db.close();
  });
}

/** A fresh database on the server; `drop` removes it, connections and all. */
export async function scratchDatabase(
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const admin = await openServerDb(ADMIN_URL);
  await admin.exec(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const again = await openServerDb(ADMIN_URL);
      await again.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.close();
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: bodies are inspected field by field
export type Json = any;

const ADMIN = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

/** One Management API call as admin to a backend at `url`; anything but 2xx throws. */
export async function mgmt(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Json> {
  const res = await fetch(`${url}/rest/v1${path}`, {
    method,
    headers: { Authorization: ADMIN, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}
