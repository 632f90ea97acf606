import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, MemoryUpdateStore, silentLogger, UpdateService } from '@otaflow/core';
import { type HttpResponse, httpRequest } from '../src/index.js';

/** A service with one Huawei target per device id, and a distribution set to assign. */
export async function setup(options: {
  deviceIds: string[];
  moduleType?: string;
  version?: string;
  outbox?: { channels: readonly string[] };
}) {
  const store = new MemoryUpdateStore();
  const service = new UpdateService({
    store,
    ...(options.outbox ? { outbox: options.outbox } : {}),
  });
  for (const controllerId of options.deviceIds)
    await service.createTarget({ controllerId, channel: 'huawei' });
  const module = await service.createSoftwareModule({
    type: options.moduleType ?? 'application',
    name: 'app',
    version: options.version ?? '2.0',
  });
  const set = await service.createDistributionSet({
    name: 'set',
    version: options.version ?? '2.0',
    modules: [module.id],
  });
  return { store, service, set };
}

/** Everything stored about a target and its actions, to prove a request changed nothing. */
export async function storedState(store: MemoryUpdateStore, controllerId: string): Promise<string> {
  const target = await store.getTarget(controllerId);
  const actions = await store.listActionsOfTarget(controllerId);
  return JSON.stringify({ target, actions });
}

export function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  return httpRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    timeoutMs: 5_000,
  });
}

/** A host server that answers 500 to the first `failures` pushes, then hands to `handler`. */
export async function flakyServer(
  failures: number,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>,
) {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    if (count <= failures) {
      req.resume();
      res.writeHead(500).end();
      return;
    }
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A logger that hands one level's calls to `record` as (message, fields), and drops the rest:
 * enough to assert what a component logs without a pino instance.
 */
export function captureLogger(
  level: 'debug' | 'info' | 'warn' | 'error',
  record: (message: string, details: Record<string, unknown> | undefined) => void,
): Logger {
  const logger: Logger = {
    ...silentLogger,
    [level]: (first: Record<string, unknown> | string, message?: string) =>
      typeof first === 'string' ? record(first, undefined) : record(message ?? '', first),
    child: () => logger,
  };
  return logger;
}
