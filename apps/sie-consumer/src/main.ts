import { createLogger, isLogLevel, logLevelFlag, runMain, untilAborted } from '@otaflow/cli';
import {
  createSieConsumer,
  SIE_QUEUE,
  SIE_TOPICS,
  type SieHandlers,
  type SieTopic,
} from '@otaflow/sie-amqp';
import { formatEvent } from './formatEvent.js';

const spec = {
  name: 'otaflow-sie-consumer',
  summary:
    'prints Service Integration Events (Bosch IoT Rollouts SIE, or the otaflow backend) from an AMQP queue',
  flags: {
    amqpUrl: {
      type: 'string',
      env: 'AMQP_URL',
      default: 'amqp://guest:guest@127.0.0.1:5672',
      placeholder: 'URL',
      description: 'AMQP 0-9-1 URL (amqps:// for Rollouts)',
    },
    queue: {
      type: 'string',
      env: 'SIE_QUEUE',
      default: SIE_QUEUE,
      description: 'queue to consume; never declared, only checked',
    },
    format: {
      type: 'string',
      env: 'SIE_FORMAT',
      default: 'pretty',
      placeholder: 'pretty|json',
      description: 'output: one readable line or one JSON object per event',
    },
    prefetch: {
      type: 'number',
      env: 'SIE_PREFETCH',
      default: 50,
      description: 'unacknowledged deliveries in flight',
    },
    dedupe: {
      type: 'boolean',
      env: 'SIE_DEDUPE',
      default: true,
      description: 'drop redeliveries of events already printed',
    },
    deadLetterExchange: {
      type: 'string',
      env: 'SIE_DEAD_LETTER_EXCHANGE',
      description: 'republish invalid messages there instead of logging and acknowledging them',
    },
    count: {
      type: 'number',
      env: 'SIE_COUNT',
      default: 0,
      description: 'exit after this many events (0: run until SIGINT/SIGTERM)',
    },
    logLevel: {
      ...logLevelFlag,
      description: 'debug, info, warn, error or silent (logs go to stderr)',
    },
  },
  examples: [
    'otaflow-sie-consumer --format json | jq .',
    'AMQP_URL=amqps://user:pass@rollouts-host/vhost otaflow-sie-consumer',
  ],
} as const;

await runMain(spec, async ({ flags, signal }) => {
  if (flags.format !== 'pretty' && flags.format !== 'json')
    throw new Error(`--format must be pretty or json, got ${flags.format}`);
  const format = flags.format;
  const level = isLogLevel(flags.logLevel) ? flags.logLevel : 'info';
  // Events own stdout; logs go to stderr so `--format json` pipes cleanly.
  const log = createLogger('sie-consumer', {
    level,
    write: (line) => process.stderr.write(`${line}\n`),
  });
  const done = new AbortController();
  let printed = 0;
  const print = (topic: SieTopic) => (body: unknown, ctx: { tenant: string }) => {
    process.stdout.write(`${formatEvent({ topic, tenant: ctx.tenant, body } as never, format)}\n`);
    printed++;
    if (flags.count > 0 && printed >= flags.count) done.abort();
  };
  const handlers: SieHandlers = {};
  for (const topic of SIE_TOPICS) (handlers as Record<string, unknown>)[topic] = print(topic);
  const consumer = createSieConsumer({
    url: flags.amqpUrl,
    queue: flags.queue,
    prefetch: flags.prefetch,
    dedupe: flags.dedupe,
    handlers,
    connectionName: 'otaflow-sie-consumer',
    ...(flags.deadLetterExchange ? { deadLetter: { exchange: flags.deadLetterExchange } } : {}),
    logger: log,
  });
  await consumer.start();
  log.info({ queue: flags.queue, url: redact(flags.amqpUrl) }, 'consuming');
  await Promise.race([untilAborted(signal), untilAborted(done.signal)]);
  await consumer.close();
  log.info({ ...consumer.stats() }, 'stopped');
  return 0;
});

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
