import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BackendError } from '../BackendError.js';
import { Authority, expandAuthorities, type Permission } from './permissions.js';

/** Tenant names as the DDI path and hawkBit allow them; compared case-insensitively. */
export const TenantName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenant: 1 to 64 letters, digits, _ and - only');

/**
 * `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url): node's own scrypt, so verifying runs on
 * libuv's threads and never holds the event loop. `otaflow-backend hash-password` makes one.
 */
const SCRYPT_HASH =
  /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

const PasswordHash = z
  .string()
  .regex(
    SCRYPT_HASH,
    'a password hash made by `otaflow-backend hash-password` (plain passwords are refused)',
  );

export const UserEntry = z.strictObject({
  username: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^:\s]+$/, 'no colon or white space'),
  passwordHash: PasswordHash,
  tenant: TenantName,
  /** Roles (`TENANT_ADMIN`) and single permissions (`READ_TARGET`, ...). */
  permissions: z.array(Authority).min(1),
});
export type UserEntry = z.infer<typeof UserEntry>;

export const UsersFile = z.strictObject({ users: z.array(UserEntry).min(1) });

/** One Management API user, ready to check a password against. */
export interface User {
  username: string;
  tenant: string;
  /** As configured, for `/userinfo`. */
  authorities: readonly string[];
  permissions: ReadonlySet<Permission>;
  verify(password: string): Promise<boolean>;
}

const DEFAULT_COST = { log2n: 15, r: 8, p: 1 };
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number) {
  const N = 2 ** log2n;
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** A new hash of `password` for the users file. */
export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost.log2n, cost.r, cost.p);
  return `scrypt$${cost.log2n}$${cost.r}$${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether `password` is the one `hash` was made of. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const match = SCRYPT_HASH.exec(hash);
  if (!match) return false;
  const [, log2n, r, p, salt, expected] = match;
  const want = Buffer.from(expected ?? '', 'base64url');
  const key = await derive(
    password,
    Buffer.from(salt ?? '', 'base64url'),
    Number(log2n),
    Number(r),
    Number(p),
  );
  return key.length === want.length && timingSafeEqual(key, want);
}

function userOf(entry: UserEntry): User {
  return {
    username: entry.username,
    tenant: entry.tenant,
    authorities: entry.permissions,
    permissions: expandAuthorities(entry.permissions),
    verify: (password) => verifyPassword(entry.passwordHash, password),
  };
}

/**
 * The one user of a backend without a users file: `--user`/`--password` (hawkBit's admin/admin
 * by default) as TENANT_ADMIN of the default tenant. Its password comes from a flag or the
 * environment, never from a file, so it is compared as given.
 */
export function singleUser(username: string, password: string, tenant: string): User {
  const expected = Buffer.from(password, 'utf8');
  return {
    username,
    tenant,
    authorities: ['TENANT_ADMIN'],
    permissions: expandAuthorities(['TENANT_ADMIN']),
    verify: async (given) => {
      const bytes = Buffer.from(given, 'utf8');
      return bytes.length === expected.length && timingSafeEqual(bytes, expected);
    },
  };
}

/** Parses a users file's text (JSON); errors name the entry and field. */
export function parseUsers(text: string, source: string): User[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BackendError('BAD_CONFIG', `${source}: not JSON (${(error as Error).message})`);
  }
  const parsed = UsersFile.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new BackendError('BAD_CONFIG', `${source}:\n  ${lines.join('\n  ')}`);
  }
  const seen = new Set<string>();
  for (const entry of parsed.data.users) {
    if (seen.has(entry.username))
      throw new BackendError('BAD_CONFIG', `${source}: user ${entry.username} is listed twice`);
    seen.add(entry.username);
  }
  return parsed.data.users.map(userOf);
}

/** The users of the configuration: the users file when given, else the single user. */
export async function loadUsers(config: {
  usersFile?: string | undefined;
  user: string;
  password: string;
  tenant: string;
}): Promise<User[]> {
  if (config.usersFile === undefined)
    return [singleUser(config.user, config.password, config.tenant)];
  let text: string;
  try {
    text = await readFile(config.usersFile, 'utf8');
  } catch (error) {
    throw new BackendError(
      'BAD_CONFIG',
      `users file ${config.usersFile}: ${(error as Error).message}`,
    );
  }
  return parseUsers(text, `users file ${config.usersFile}`);
}
