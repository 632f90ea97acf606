/**
 * SIE throughput on the local RabbitMQ, as ratios to raw amqplib in the same run:
 * - confirmed publishes/s: SiePublisher.publish(domain event) vs a raw confirm channel publishing
 *   the same bytes with the same properties (goal: ratio >= 0.8);
 * - consumed messages/s: SieConsumer (validate + handler + ack) vs raw consume + ack.
 * Rounds alternate between the two sides; the median of each is reported.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { type ActionDomainEvent, silentLogger } from '@otaflow/core';
import * as amqp from 'amqplib';
import { encodeSieMessage, SieConsumer, SiePublisher, toSieMessages } from '../src/index.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const N = 20_000;
const ROUNDS = 5;
const PREFETCH = 100;
const run = `otaflow-sie-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
const exchange = `${run}-ex`;
const queue = `${run}-q`;
const queueArguments = { 'x-max-length': 1_000_000, 'x-message-ttl': 86_400_000 };

const event = (i: number): ActionDomainEvent => ({
  type: 'ACTION_UPDATED',
  actionId: 1000 + (i % 1000),
  actionStatus: 'RUNNING',
  lastActionStatusCode: 'N/A',
  actionActive: true,
  controllerId: `device-${String(i % 1000).padStart(4, '0')}`,
  distributionSetId: 7,
  distributionSetName: 'test_distro',
  distributionSetVersion: '1.0.0',
  timestamp: 1_700_000_000_000,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const log = (line: string) => console.log(`[bench] ${line}`);

async function main() {
  let admin: amqp.ChannelModel;
  try {
    admin = await amqp.connect(AMQP_URL);
  } catch (error) {
    console.error(
      `RabbitMQ at ${AMQP_URL} is unreachable (${(error as Error).message}); no benchmark.`,
    );
    process.exit(1);
  }
  const ch = await admin.createConfirmChannel();
  const publisher = new SiePublisher({
    url: AMQP_URL,
    tenant: 'bench',
    exchange,
    queue,
    queueArguments,
    bufferSize: N + 1,
    logger: silentLogger,
    connectionName: `${run}-pub`,
  });
  await publisher.start({ timeoutMs: 10_000 });

  // The raw side publishes exactly the publisher's bytes and properties.
  const sample = toSieMessages(event(0), { tenant: 'bench' })[0];
  if (!sample) throw new Error('no sample message');
  const encoded = Array.from({ length: N }, (_, i) => {
    const [message] = toSieMessages(event(i), { tenant: 'bench' });
    return encodeSieMessage(message as typeof sample);
  });
  const raw = await amqp.connect(AMQP_URL);
  const rawCh = await raw.createConfirmChannel();

  async function rawPublish(): Promise<number> {
    const start = performance.now();
    for (const { content, options } of encoded) {
      if (!rawCh.publish(exchange, '', content, options)) {
        await new Promise((resolve) => rawCh.once('drain', resolve));
      }
    }
    await rawCh.waitForConfirms();
    return N / ((performance.now() - start) / 1000);
  }

  async function sidePublish(): Promise<number> {
    const start = performance.now();
    const all: Promise<void>[] = new Array(N);
    for (let i = 0; i < N; i++) all[i] = publisher.publish(event(i));
    await Promise.all(all);
    return N / ((performance.now() - start) / 1000);
  }

  const rawRates: number[] = [];
  const pubRates: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await ch.purgeQueue(queue);
    rawRates.push(await rawPublish());
    log(`publish round ${round}/${ROUNDS}: raw amqplib ${rawRates.at(-1)?.toFixed(0)} msg/s`);
    await ch.purgeQueue(queue);
    pubRates.push(await sidePublish());
    log(`publish round ${round}/${ROUNDS}: SiePublisher ${pubRates.at(-1)?.toFixed(0)} msg/s`);
  }

  async function fill() {
    await ch.purgeQueue(queue);
    for (const { content, options } of encoded) {
      if (!ch.publish(exchange, '', content, options))
        await new Promise((r) => ch.once('drain', r));
    }
    await ch.waitForConfirms();
  }

  async function rawConsume(): Promise<number> {
    await fill();
    const conn = await amqp.connect(AMQP_URL);
    const c = await conn.createChannel();
    await c.prefetch(PREFETCH);
    let count = 0;
    const start = performance.now();
    await new Promise<void>((resolve) => {
      c.consume(queue, (msg) => {
        if (!msg) return;
        JSON.parse(msg.content.toString('utf8'));
        c.ack(msg);
        if (++count === N) resolve();
      });
    });
    const rate = N / ((performance.now() - start) / 1000);
    await conn.close();
    return rate;
  }

  async function sideConsume(): Promise<number> {
    await fill();
    let count = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const consumer = new SieConsumer({
      url: AMQP_URL,
      queue,
      prefetch: PREFETCH,
      logger: silentLogger,
      connectionName: `${run}-con`,
      handlers: {
        ACTION_UPDATED: () => {
          if (++count === N) done();
        },
      },
    });
    const start = performance.now();
    await consumer.start({ timeoutMs: 10_000 });
    await finished;
    const rate = N / ((performance.now() - start) / 1000);
    await consumer.close();
    return rate;
  }

  const rawConsumeRates: number[] = [];
  const sieConsumeRates: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    rawConsumeRates.push(await rawConsume());
    log(
      `consume round ${round}/${ROUNDS}: raw amqplib ${rawConsumeRates.at(-1)?.toFixed(0)} msg/s`,
    );
    sieConsumeRates.push(await sideConsume());
    log(
      `consume round ${round}/${ROUNDS}: SieConsumer ${sieConsumeRates.at(-1)?.toFixed(0)} msg/s`,
    );
  }

  await publisher.close();
  await raw.close();
  await ch.deleteQueue(queue);
  await ch.deleteExchange(exchange);
  await admin.close();

  const pub = median(pubRates);
  const rawPub = median(rawRates);
  const con = median(sieConsumeRates);
  const rawCon = median(rawConsumeRates);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const figures = [
    {
      metric:
        'confirmed publishes per second (SiePublisher.publish vs raw confirm channel, same bytes)',
      value: Math.round(pub),
      unit: 'msg/s',
      baseline: Math.round(rawPub),
      ratio: round2(pub / rawPub),
      goal: 0.8,
    },
    {
      metric: `consumed messages per second (SieConsumer validate+handle+ack vs raw consume+JSON.parse+ack, prefetch ${PREFETCH})`,
      value: Math.round(con),
      unit: 'msg/s',
      baseline: Math.round(rawCon),
      ratio: round2(con / rawCon),
      goal: null,
    },
  ];
  const result = {
    name: '@otaflow/sie-amqp',
    date: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
    },
    figures,
  };
  await writeFile(
    new URL('./result.json', import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );

  console.log(`\n@otaflow/sie-amqp benchmark (${N} messages x ${ROUNDS} rounds, medians)`);
  console.table(
    figures.map((f) => ({
      metric: f.metric.split(' (')[0],
      value: `${f.value} ${f.unit}`,
      'raw amqplib': `${f.baseline} ${f.unit}`,
      ratio: f.ratio,
      goal: f.goal === null ? '-' : `>= ${f.goal}`,
    })),
  );
  console.log('written: bench/result.json');
}

await main();
