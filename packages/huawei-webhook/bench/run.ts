import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import {
  createHuaweiReceiverServer,
  HUAWEI_SUB_OPERATION_REF,
  httpRequest,
  subOperationRef,
} from '../src/index.js';

/**
 * Notifications per second through the receiver (validate, match, map, apply, answer) against a
 * bare node:http handler that parses the same JSON and answers 200, both over loopback with the
 * same keep-alive client in this process. Each round uses fresh actions so every push is applied.
 */
const ACTIONS = 1_500;
const CONCURRENCY = 16;
const ROUNDS = 5;
const STEPS = ['downloading', 'downloaded', 'updating'] as const;

function bodiesFor(prefix: string, index: number): string[] {
  const ids = {
    deviceId: `${prefix}-d${index}`,
    appId: 'bench',
    operationId: `${prefix}-op${index}`,
    subOperationId: `${prefix}-sub${index}`,
  };
  return [
    ...STEPS.map((swUpgradeState) =>
      JSON.stringify({ notifyType: 'swUpgradeStateChangeNotify', ...ids, swUpgradeState }),
    ),
    JSON.stringify({
      notifyType: 'swUpgradeResultNotify',
      ...ids,
      curVersion: '2.0',
      targetVersion: '2.0',
      sourceVersion: '1.0',
      swUpgradeResult: 'SUCCESS',
      upgradeTime: '12',
      resultDesc: 'ok',
      errorCode: '0',
      description: '',
    }),
  ];
}

async function prepare(service: UpdateService, setId: number, prefix: string): Promise<string[][]> {
  const perAction: string[][] = [];
  for (let i = 0; i < ACTIONS; i++) {
    const controllerId = `${prefix}-d${i}`;
    await service.createTarget({ controllerId, channel: 'huawei' });
    const { actions } = await service.assign(setId, [{ controllerId }]);
    await service.setActionRef(
      actions[0]!.id,
      HUAWEI_SUB_OPERATION_REF,
      subOperationRef(controllerId, `${prefix}-op${i}`, `${prefix}-sub${i}`),
    );
    perAction.push(bodiesFor(prefix, i));
  }
  return perAction;
}

/** Sends every action's notifications in order, CONCURRENCY actions at a time; returns per second. */
async function drive(url: string, perAction: string[][]): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  let sent = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < perAction.length; i = next++) {
      for (const body of perAction[i]!) {
        const response = await httpRequest(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          timeoutMs: 15_000,
          agent,
        });
        if (response.status !== 200) throw new Error(`answer ${response.status}: ${response.body}`);
        sent++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return sent / seconds;
}

async function bareServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const text = '{"result":"ok"}';
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(text.length),
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1.0.0/messageReceiver`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

const service = new UpdateService({ store: new MemoryUpdateStore() });
const module = await service.createSoftwareModule({
  type: 'application',
  name: 'bench',
  version: '2.0',
});
const set = await service.createDistributionSet({
  name: 'bench',
  version: '2.0',
  modules: [module.id],
});
const receiver = await createHuaweiReceiverServer({ service, matchWaitMs: 0 });
const bare = await bareServer();

console.log(
  `huawei-webhook bench: ${ACTIONS} actions x ${STEPS.length + 1} notifications, ${CONCURRENCY} connections, ${ROUNDS} rounds`,
);
const warm = await prepare(service, set.id, 'warm');
await drive(bare.url, warm);
await drive(
  receiver.url,
  warm.map((bodies) => bodies.slice()),
);

const bareRates: number[] = [];
const receiverRates: number[] = [];
const redeliveryRates: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const fresh = await prepare(service, set.id, `r${round}`);
  bareRates.push(await drive(bare.url, fresh));
  console.log(`round ${round}: bare handler ${bareRates.at(-1)!.toFixed(0)} notifications/s`);
  receiverRates.push(await drive(receiver.url, fresh));
  console.log(`round ${round}: receiver     ${receiverRates.at(-1)!.toFixed(0)} notifications/s`);
  // The same pushes again: all redeliveries, answered from the de-duplication memory without core.
  redeliveryRates.push(await drive(receiver.url, fresh));
  console.log(`round ${round}: redeliveries ${redeliveryRates.at(-1)!.toFixed(0)} notifications/s`);
  const sample = await service.getAction((await service.listActions(`r${round}-d0`))[0]!.id);
  if (sample?.status !== 'FINISHED')
    throw new Error(`round ${round}: the receiver did not apply (${sample?.status})`);
}
await receiver.close();
await bare.close();

const value = median(receiverRates);
const baseline = median(bareRates);
const ratio = value / baseline;
const figures = [
  {
    metric: 'receiver notifications per second',
    value: Math.round(value),
    unit: 'notifications/s',
    baseline: Math.round(baseline),
    ratio: Number(ratio.toFixed(3)),
    goal: 0.7,
  },
  {
    metric: 'receiver redeliveries per second (no core work)',
    value: Math.round(median(redeliveryRates)),
    unit: 'notifications/s',
    baseline: Math.round(baseline),
    ratio: Number((median(redeliveryRates) / baseline).toFixed(3)),
    goal: null,
  },
];
console.log(`\n${'metric'.padEnd(48)}    value   baseline   ratio   goal`);
for (const f of figures) {
  console.log(
    `${f.metric.padEnd(48)} ${String(f.value).padStart(8)}   ${String(f.baseline).padStart(8)}   ${f.ratio.toFixed(3)}   ${f.goal === null ? '-' : `>= ${f.goal}`}`,
  );
}
writeFileSync(
  new URL('./result.json', import.meta.url),
  `${JSON.stringify(
    {
      name: '@otaflow/huawei-webhook',
      date: new Date().toISOString(),
      machine: {
        cores: os.cpus().length,
        memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
        node: process.version,
      },
      figures,
    },
    null,
    2,
  )}\n`,
);
