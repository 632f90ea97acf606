/** What the bench scripts (run.ts, routers.ts) and their server processes (servers.ts) agree on. */
import { createHash } from 'node:crypto';

export const CONTROLLERS = 10_000;
export const TENANT = 'DEFAULT';
export const SLEEP = '00:05:00';
/**
 * The backend is given a public URL so that its links do not depend on the Host header: then the
 * backend and the bare server answer byte for byte the same, whichever port each listens on.
 */
export const PUBLIC_URL = 'http://ota.bench.example';
export const cid = (i: number) => `bench-${i % CONTROLLERS}`;

/** What the backend answers an idle controller's root poll, built by hand for the baselines. */
export const rootBody = (controllerId: string) =>
  JSON.stringify({
    config: { polling: { sleep: SLEEP } },
    _links: {
      configData: { href: `${PUBLIC_URL}/${TENANT}/controller/v1/${controllerId}/configData` },
    },
  });

/** Status, raw header list and body of an answer, as node:http writes them. */
export interface Answer {
  status: number;
  headers: string[];
  body: string;
}

/** The DDI server's root-poll answer: its ETag is the body's md5 (see createDdiServer's sendJson). */
export const rootAnswer = (controllerId: string): Answer => {
  const body = rootBody(controllerId);
  return {
    status: 200,
    headers: [
      'ETag',
      `"0${createHash('md5').update(body).digest('hex')}"`,
      'Content-Type',
      'application/hal+json;charset=UTF-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
    ],
    body,
  };
};

/** What the DDI server answers accepted feedback. */
export const FEEDBACK_ANSWER: Answer = { status: 200, headers: ['Content-Length', '0'], body: '' };

/** A feedback that leaves the action open (RUNNING), so every round can post it again. */
export const FEEDBACK = JSON.stringify({
  status: { execution: 'proceeding', result: { finished: 'none' }, details: ['working'] },
});

/**
 * What a server process runs: the whole backend (on the memory store, on PGlite in a temporary
 * directory, or on a scratch database of the PostgreSQL server at DATABASE_URL); bare node:http; or, for the router decision,
 * the DDI root-poll handler behind find-my-way or behind Hono on @hono/node-server.
 */
export type ServerKind =
  | 'backend'
  | 'backend-pglite'
  | 'backend-postgres'
  | 'bare'
  | 'find-my-way'
  | 'hono';
export type ServerOp = 'cpu' | 'assign' | 'close';
