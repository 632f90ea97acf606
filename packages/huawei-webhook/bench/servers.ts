import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import {
  createHuaweiReceiverServer,
  HUAWEI_SUB_OPERATION_REF,
  subOperationRef,
} from '../src/index.js';
import { ACTIONS, type BenchReply, type BenchRequest } from './protocol.js';

/**
 * The server side of the benchmark, in its own process so `process.cpuUsage()` counts only the
 * servers: the bare handler and the receiver listen side by side, under the same conditions.
 */

/** Parses the body exactly as the receiver reads it and answers 200 the way the receiver does. */
function bareServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(
        (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8'),
      );
      const text = '{"result":"ok"}';
      // A literal, as the receiver writes it: a spread of shared headers takes V8's slow path.
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

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

/** Fresh actions whose sub-operation refs the pushes of `prefix` name. */
async function prepare(prefix: string): Promise<void> {
  for (let i = 0; i < ACTIONS; i++) {
    const controllerId = `${prefix}-d${i}`;
    await service.createTarget({ controllerId, channel: 'huawei' });
    const { actions } = await service.assign(set.id, [{ controllerId }]);
    await service.setActionRef(
      actions[0]!.id,
      HUAWEI_SUB_OPERATION_REF,
      subOperationRef(controllerId, `${prefix}-op${i}`, `${prefix}-sub${i}`),
    );
  }
}

async function stored(): Promise<NonNullable<BenchReply['stored']>> {
  const targets = await service.listTargets({ limit: 1_000_000 });
  let actions = 0;
  for (const t of targets.items) actions += (await service.listActions(t.controllerId)).length;
  return {
    actions,
    targets: targets.total,
    heapMiB: Number((process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)),
  };
}

const reply = (message: BenchReply) => process.send?.(message);

process.on('message', async (request: BenchRequest) => {
  switch (request.cmd) {
    case 'prepare':
      await prepare(request.prefix);
      reply({ id: request.id, ok: true });
      break;
    case 'gc':
      (globalThis as { gc?: () => void }).gc?.();
      reply({ id: request.id, ok: true });
      break;
    case 'stored':
      reply({ id: request.id, ok: true, stored: await stored() });
      break;
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      reply({ id: request.id, ok: true, cpuMicros: user + system });
      break;
    }
    case 'check': {
      const [first] = await service.listActions(`${request.prefix}-d0`);
      const status = first && (await service.getAction(first.id))?.status;
      reply({ id: request.id, ok: status === 'FINISHED', detail: String(status) });
      break;
    }
    case 'stop':
      await receiver.close();
      await new Promise((resolve) => bare.close(resolve));
      reply({ id: request.id, ok: true });
      process.disconnect?.();
      break;
  }
});

reply({
  id: 0,
  ok: true,
  receiverUrl: receiver.url,
  bareUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1.0.0/messageReceiver`,
});
