import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../src/server.js';
import { hashPassword } from '../src/tenants/users.js';

/** Users of two tenants and the default one, and calls made as them. */
export const CHEAP = { log2n: 10, r: 8, p: 1 };

export interface TestUser {
  username: string;
  password: string;
  tenant: string;
  permissions: string[];
}

export const USERS: TestUser[] = [
  { username: 'acme-admin', password: 'a-secret', tenant: 'ACME', permissions: ['TENANT_ADMIN'] },
  { username: 'beta-admin', password: 'b-secret', tenant: 'BETA', permissions: ['TENANT_ADMIN'] },
  {
    username: 'acme-reader',
    password: 'r-secret',
    tenant: 'ACME',
    permissions: ['READ_TARGET', 'READ_REPOSITORY'],
  },
  { username: 'admin', password: 'admin', tenant: 'DEFAULT', permissions: ['TENANT_ADMIN'] },
];

/** A users file of `users` (cheap hashes: the format is the product's, the cost a test's). */
export async function writeUsersFile(dir: string, users: TestUser[] = USERS): Promise<string> {
  const file = join(dir, 'users.json');
  const entries = await Promise.all(
    users.map(async (u) => ({
      username: u.username,
      passwordHash: await hashPassword(u.password, CHEAP),
      tenant: u.tenant,
      permissions: u.permissions,
    })),
  );
  await writeFile(file, JSON.stringify({ users: entries }));
  return file;
}

export function basic(user: TestUser): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
}

export const userNamed = (name: string): TestUser => USERS.find((u) => u.username === name)!;

/** One Management call as `user`. */
export async function as(
  backend: Backend,
  user: TestUser,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${backend.url}/rest/v1${path}`, {
    method,
    headers: {
      Authorization: basic(user),
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  const json: any = text ? JSON.parse(text) : undefined;
  return { status: res.status, json };
}

/** A device's poll of `tenant`'s DDI; `auth` is its Authorization header, if any. */
export async function poll(backend: Backend, tenant: string, device: string, auth?: string) {
  const res = await fetch(`${backend.url}/${tenant}/controller/v1/${device}`, {
    headers: { Accept: 'application/hal+json', ...(auth ? { Authorization: auth } : {}) },
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected field by field
  const json: any = text ? JSON.parse(text) : undefined;
  return { status: res.status, json };
}
