import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Logger } from '@otaflow/core';
import * as amqp from 'amqplib';
import { afterAll, describe, it } from 'vitest';

const exec = promisify(execFile);

/** Overridable only to check the skip/fail path, e.g. with an unused loopback port. */
export const AMQP_URL = process.env.OTAFLOW_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function probeBroker(): Promise<string | undefined> {
  try {
    const connection = await amqp.connect(AMQP_URL, { timeout: 2000 });
    await connection.close();
    return undefined;
  } catch (error) {
    return `RabbitMQ at ${AMQP_URL} is unreachable (${(error as Error).message})`;
  }
}

async function probeCtl(): Promise<string | undefined> {
  try {
    await exec('rabbitmqctl', ['list_connections', 'pid', '-q'], { timeout: 20_000 });
    return undefined;
  } catch (error) {
    return `rabbitmqctl is not usable (${(error as Error).message.split('\n')[0]})`;
  }
}

const brokerProblem = await probeBroker();
const ctlProblem = brokerProblem ?? (await probeCtl());

/**
 * A describe block that needs RabbitMQ (and rabbitmqctl when `ctl`): with CI=true a missing
 * broker fails the run, otherwise the block is skipped with a loud message.
 */
export function brokerSuite(name: string, needs: { ctl?: boolean }, body: () => void): void {
  const problem = needs.ctl ? ctlProblem : brokerProblem;
  if (!problem) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs RabbitMQ', () => {
        throw new Error(`${problem}; CI=true, so this fails instead of skipping`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED "${name}": ${problem}. Set CI=true to make this a failure. ***\n`);
  describe.skip(name, body);
}

/** Unique per run and call, so parallel runs never share a queue or exchange. */
export function uniqueName(label: string): string {
  return `otaflow-sie-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Closes, from the broker's side, every connection whose connection_name is `name`. */
export async function forceCloseConnections(name: string): Promise<number> {
  const { stdout } = await exec(
    'rabbitmqctl',
    ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers'],
    { timeout: 20_000 },
  );
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]?.trim())
    .filter((pid): pid is string => Boolean(pid));
  for (const pid of pids) {
    await exec('rabbitmqctl', ['close_connection', pid, 'otaflow test: forced close'], {
      timeout: 20_000,
    });
  }
  return pids.length;
}

export interface QueueInfo {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: Record<string, unknown>;
}

/** The broker's own record of a queue, arguments included. */
export async function queueInfo(queue: string): Promise<QueueInfo | undefined> {
  const { stdout } = await exec(
    'rabbitmqctl',
    [
      'list_queues',
      'name',
      'durable',
      'auto_delete',
      'exclusive',
      'arguments',
      '-q',
      '--formatter',
      'json',
    ],
    { timeout: 20_000 },
  );
  const rows = JSON.parse(stdout) as Array<Omit<QueueInfo, 'arguments'> & { arguments: unknown }>;
  const row = rows.find((r) => r.name === queue);
  if (!row) return undefined;
  return { ...row, arguments: tableToObject(row.arguments) };
}

export async function exchangeInfo(
  exchange: string,
): Promise<{ name: string; type: string; durable: boolean; auto_delete: boolean } | undefined> {
  const { stdout } = await exec(
    'rabbitmqctl',
    ['list_exchanges', 'name', 'type', 'durable', 'auto_delete', '-q', '--formatter', 'json'],
    { timeout: 20_000 },
  );
  const rows = JSON.parse(stdout) as Array<{
    name: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
  }>;
  return rows.find((r) => r.name === exchange);
}

/** rabbitmqctl prints an AMQP table either as [[key, type, value]] or as an object. */
function tableToObject(table: unknown): Record<string, unknown> {
  if (Array.isArray(table)) {
    return Object.fromEntries(table.map((entry) => [entry[0], entry[entry.length - 1]]));
  }
  return (table ?? {}) as Record<string, unknown>;
}

/** A raw amqplib connection for arranging and inspecting, independent of the code under test. */
export async function rawChannel(): Promise<{
  connection: amqp.ChannelModel;
  channel: amqp.ConfirmChannel;
}> {
  const connection = await amqp.connect(AMQP_URL);
  connection.on('error', () => undefined);
  const channel = await connection.createConfirmChannel();
  channel.on('error', () => undefined);
  return { connection, channel };
}

/** Deletes queues and exchanges on a connection of its own, ignoring what is already gone. */
export async function cleanup(names: { queues?: string[]; exchanges?: string[] }): Promise<void> {
  if (!names.queues?.length && !names.exchanges?.length) return;
  const connection = await amqp.connect(AMQP_URL);
  connection.on('error', () => undefined);
  try {
    for (const queue of names.queues ?? []) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of names.exchanges ?? []) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  details?: Record<string, unknown>;
}

/** A core `Logger` that remembers instead of printing; bindings of children are merged in. */
export function memoryLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (first: Record<string, unknown> | string, message?: string): void => {
      if (typeof first === 'string')
        lines.push({ level, message: first, details: { ...bindings } });
      else lines.push({ level, message: message ?? '', details: { ...bindings, ...first } });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => memoryLogger(lines, { ...bindings, ...more }),
  };
}

/** Polls `check` until it holds; a correctness wait, not a timing assertion. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Names for one test file: `fresh(label)` gives a unique exchange and queue, `queue(label)` and
 * `exchange(label)` one of each; all of them are deleted after the file's tests.
 */
export function namesForFile() {
  const names = { queues: [] as string[], exchanges: [] as string[] };
  afterAll(() => cleanup(names));
  const queue = (label: string) => {
    const name = uniqueName(label);
    names.queues.push(name);
    return name;
  };
  const exchange = (label: string) => {
    const name = uniqueName(label);
    names.exchanges.push(name);
    return name;
  };
  return {
    queue,
    exchange,
    fresh: (label: string) => ({ exchange: exchange(`${label}-ex`), queue: queue(`${label}-q`) }),
  };
}
