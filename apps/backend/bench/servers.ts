/**
 * A bench server process (forked by harness.ts, one per server): its kind is the first argument.
 * Each server has a process of its own, so `process.cpuUsage()` here is that server's CPU alone,
 * and the bare server's garbage collector never walks the backend's 10,000 targets.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { serveBenchChild } from '@otaflow/bench-kit';
import FindMyWay from 'find-my-way';
import { Hono } from 'hono';
import {
  type Answer,
  CONTROLLERS,
  cid,
  FEEDBACK_ANSWER,
  PUBLIC_URL,
  rootAnswer,
  type ServerKind,
  type ServerOp,
  TENANT,
} from './shared.js';

const kind = process.argv[2] as ServerKind;

/**
 * Answers built once per controller and then only looked up, so that the baselines spend their
 * time in node:http and the router, not in JSON.stringify and md5.
 */
const answers = new Map<string, Answer>();
const answerFor = (controllerId: string) => {
  let answer = answers.get(controllerId);
  if (!answer) {
    answer = rootAnswer(controllerId);
    answers.set(controllerId, answer);
  }
  return answer;
};

const send = (res: ServerResponse, answer: Answer) => {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
};

/** Feedback: the body is read to its end, as a server that parses it must. */
const acceptFeedback = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => send(res, FEEDBACK_ANSWER));
};

const notFound = (res: ServerResponse) => res.writeHead(404, ['Content-Length', '0']).end();

/** The DDI controller routes and the backend's other surfaces, so the routers search a real tree. */
const DDI = '/:tenant/controller/v1/:controllerId';
const ROUTES: [string, string][] = [
  ['GET', `${DDI}/configData`],
  ['PUT', `${DDI}/configData`],
  ['GET', `${DDI}/deploymentBase/:actionId`],
  ['POST', `${DDI}/deploymentBase/:actionId/feedback`],
  ['GET', `${DDI}/installedBase/:actionId`],
  ['GET', `${DDI}/cancelAction/:actionId`],
  ['POST', `${DDI}/cancelAction/:actionId/feedback`],
  ['GET', `${DDI}/confirmationBase`],
  ['GET', `${DDI}/confirmationBase/:actionId`],
  ['POST', `${DDI}/confirmationBase/:actionId/feedback`],
  ['POST', `${DDI}/confirmationBase/activateAutoConfirm`],
  ['POST', `${DDI}/confirmationBase/deactivateAutoConfirm`],
  ['GET', `${DDI}/softwaremodules/:moduleId/artifacts`],
  ['GET', `${DDI}/softwaremodules/:moduleId/artifacts/:fileName`],
  ['GET', '/rest/v1/targets'],
  ['GET', '/rest/v1/targets/:targetId'],
  ['GET', '/rest/v1/distributionsets/:setId'],
  ['GET', '/artifacts/:moduleId/:fileName'],
  ['POST', '/v1.0.0/messageReceiver'],
  ['GET', '/livez'],
  ['GET', '/readyz'],
];

type Started = { origin: string; close: () => Promise<void>; assign?: () => Promise<unknown> };

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Started> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function start(): Promise<Started> {
  switch (kind) {
    case 'backend':
    case 'backend-pglite':
    case 'backend-postgres': {
      // Loaded only here: the baselines' processes carry none of the backend's modules.
      const { parseConfig, startBackend, openBackendStore } = await import('../src/index.js');
      const { mkdtemp, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dataDir = await mkdtemp(join(tmpdir(), 'otaflow-bench-'));
      const undo: (() => Promise<unknown>)[] = [
        () => rm(dataDir, { recursive: true, force: true }),
      ];
      let databaseUrl: string | undefined;
      if (kind === 'backend-postgres') {
        const { openServerDb } = await import('@otaflow/store-postgres');
        const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
        const name = `otaflow_bench_${process.pid}`;
        const db = await openServerDb(admin);
        await db.exec(`DROP DATABASE IF EXISTS ${name}`);
        await db.exec(`CREATE DATABASE ${name}`);
        const url = new URL(admin);
        url.pathname = `/${name}`;
        databaseUrl = url.toString();
        undo.push(async () => {
          await db.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await db.close();
        });
      }
      const config = parseConfig({
        port: 0,
        host: '127.0.0.1',
        tenant: TENANT,
        logLevel: 'silent',
        publicUrl: PUBLIC_URL,
        // The whole bench fleet registers from one address; the per-client cap would refuse it.
        ddiRegistrationRate: 0,
        ...(kind === 'backend' ? { store: 'memory' } : { dataDir }),
        ...(databaseUrl ? { databaseUrl } : {}),
      });
      const { createLogger } = await import('../src/logger.js');
      const opened =
        kind === 'backend'
          ? undefined
          : await openBackendStore(config, { logger: createLogger({ level: 'silent' }) });
      const backend = await startBackend(config, opened ? { store: opened.store } : {});
      return {
        origin: `http://127.0.0.1:${backend.port}`,
        close: async () => {
          await backend.close();
          await opened?.close();
          for (const step of undo.reverse()) await step();
        },
        async assign() {
          const { service } = backend;
          const module = await service.createSoftwareModule({
            type: 'os',
            name: 'fw',
            version: '1',
          });
          const set = await service.createDistributionSet({
            name: 'fw',
            version: '1',
            modules: [module.id],
          });
          const { actions } = await service.assign(
            set.id,
            Array.from({ length: CONTROLLERS }, (_, i) => ({ controllerId: cid(i) })),
          );
          return { actions: actions.map((a) => [a.controllerId, a.id]) };
        },
      };
    }
    case 'bare':
      // What a server that knows its only two URLs would do: split, no router.
      return listen((req, res) => {
        if (req.method === 'POST') acceptFeedback(req, res);
        else send(res, answerFor((req.url ?? '').split('/')[4] ?? ''));
      });
    case 'find-my-way': {
      const router = FindMyWay({
        defaultRoute: (_req, res) => notFound(res as ServerResponse),
      });
      for (const [method, path] of ROUTES)
        router.on(method as 'GET', path, (req, res) => acceptFeedback(req, res));
      router.on('GET', DDI, (_req, res, params) => send(res, answerFor(params.controllerId ?? '')));
      return listen((req, res) => router.lookup(req, res));
    }
    case 'hono': {
      const app = new Hono();
      for (const [method, path] of ROUTES)
        app.on(method, path, async (c) => {
          await c.req.arrayBuffer();
          return c.body(null, 200);
        });
      app.get(DDI, (c) => {
        const answer = answerFor(c.req.param('controllerId'));
        const headers: Record<string, string> = {};
        for (let i = 0; i < answer.headers.length; i += 2)
          headers[answer.headers[i]!] = answer.headers[i + 1]!;
        return c.body(answer.body, 200, headers);
      });
      const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
        const s = serve(
          { fetch: app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: {} },
          () => resolve(s),
        );
      });
      (server as import('node:http').Server).keepAliveTimeout = 60_000;
      return {
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      };
    }
  }
}

const started = await start();
const answer = async (op: ServerOp): Promise<unknown> => {
  switch (op) {
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      return { cpuMicros: user + system, systemMicros: system };
    }
    case 'assign':
      if (!started.assign) throw new Error(`${kind} server has nothing to assign`);
      return started.assign();
    case 'close':
      await started.close();
      return {};
  }
};
serveBenchChild({ origin: started.origin }, answer, (op) => op === 'close');
