import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db, QueryResult, Sql } from './Db.js';
import { lockDataDir } from './dataDirLock.js';
import { StoreError } from './StoreError.js';

/**
 * The worker's code, evaluated as a CommonJS script so that it loads the same way under every
 * runner (tsx, vitest, built JavaScript): it owns the PGlite instance and answers one message per
 * statement. A transaction stays open in the worker between the messages of its statements, as
 * PGlite's own `transaction` holds it; root statements sent meanwhile wait on PGlite's mutex, as
 * they would in this thread.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite, types } = require(workerData.pglite);
const parsers = { [types.INT8]: (value) => value };
const open = new Map();
let nextTx = 1;
let db;
const fail = (error) => ({
  message: error && error.message ? error.message : String(error),
  code: error && error.code,
  detail: error && error.detail,
  constraint: error && error.constraint,
});
const reply = (id, result, error) =>
  parentPort.postMessage(error === undefined ? { id, result } : { id, error: fail(error) });
parentPort.on('message', async (m) => {
  try {
    if (m.op === 'query') {
      const source = m.tx ? open.get(m.tx).tx : db;
      const r = await source.query(m.text, m.params);
      reply(m.id, { rows: r.rows, rowCount: r.affectedRows ?? 0 });
    } else if (m.op === 'exec') {
      const source = m.tx ? open.get(m.tx).tx : db;
      await source.exec(m.text);
      reply(m.id, null);
    } else if (m.op === 'begin') {
      const txId = nextTx++;
      const done = db.transaction(
        (tx) =>
          new Promise((resolve, reject) => {
            open.set(txId, { tx, resolve, reject });
            reply(m.id, txId);
          }),
      );
      open.set(txId, { done });
      done.catch(() => {});
    } else if (m.op === 'commit' || m.op === 'rollback') {
      const entry = open.get(m.tx);
      if (m.op === 'commit') entry.resolve();
      else entry.reject(new Error('rollback'));
      try {
        await entry.done;
        reply(m.id, null);
      } catch (error) {
        if (m.op === 'rollback') reply(m.id, null);
        else reply(m.id, undefined, error);
      } finally {
        open.delete(m.tx);
      }
    } else if (m.op === 'listen') {
      await db.listen(m.channel, (payload) =>
        parentPort.postMessage({ notify: m.channel, payload }),
      );
      reply(m.id, null);
    } else if (m.op === 'open') {
      db = await PGlite.create(m.dataDir, { parsers });
      reply(m.id, null);
    } else if (m.op === 'close') {
      await db.close();
      reply(m.id, null);
    }
  } catch (error) {
    reply(m.id, undefined, error);
  }
});
`;

function misuse(): never {
  throw new StoreError(
    'TRANSACTION_MISUSE',
    'the root connection was used inside one of its transactions; use the transaction handle (PGlite has one session, so this would wait forever)',
  );
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * Embedded PostgreSQL (PGlite) in `dataDir`, run in a worker thread. PGlite is WebAssembly that
 * runs synchronously on the thread that calls it: in this thread a statement holds every HTTP
 * request until it is done, and a whole assignment's statements hold them for seconds. In a
 * worker, this thread only posts and receives messages and keeps answering devices meanwhile. The
 * same lock file as `openPgliteDb` keeps a second process out.
 */
export async function openPgliteWorkerDb(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const worker = new Worker(WORKER, { eval: true, workerData: { pglite } });
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let nextId = 1;
  let exited: Error | undefined;
  worker.on(
    'message',
    (m: {
      id?: number;
      result?: unknown;
      error?: Record<string, unknown>;
      notify?: string;
      payload?: string;
    }) => {
      if (m.notify !== undefined) {
        for (const listener of listeners.get(m.notify) ?? []) listener(m.payload ?? '');
        return;
      }
      const call = pending.get(m.id ?? -1);
      if (!call) return;
      pending.delete(m.id ?? -1);
      if (m.error) call.reject(Object.assign(new Error(String(m.error.message)), m.error));
      else call.resolve(m.result);
    },
  );
  const fail = (error: Error) => {
    exited = error;
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) =>
    fail(new StoreError('CLOSED', `the PGlite worker exited (code ${code})`)),
  );
  const call = <T>(message: Record<string, unknown>): Promise<T> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...message, id });
    });
  };
  try {
    await call({ op: 'open', dataDir });
  } catch (error) {
    await worker.terminate();
    release();
    throw error;
  }

  const inside = new AsyncLocalStorage<true>();
  const sqlOf = (tx: number | undefined): Sql => ({
    query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      return call<QueryResult<R>>({ op: 'query', tx, text, params });
    },
    async exec(script: string) {
      await call({ op: 'exec', tx, text: script });
    },
  });
  const root = sqlOf(undefined);
  const run = async <T>(work: (tx: Sql) => Promise<T>): Promise<T> => {
    const tx = await call<number>({ op: 'begin' });
    let result: T;
    try {
      result = await inside.run(true, () => work(sqlOf(tx)));
    } catch (error) {
      await call({ op: 'rollback', tx }).catch(() => {});
      throw error;
    }
    await call({ op: 'commit', tx });
    return result;
  };
  let closed: Promise<void> | undefined;
  let busy = 0;
  const done = () => {
    busy--;
  };
  return {
    kind: 'pglite',
    location: dataDir,
    query<R>(text: string, params?: readonly unknown[]) {
      if (inside.getStore()) misuse();
      busy++;
      return root.query<R>(text, params).finally(done);
    },
    exec(script) {
      if (inside.getStore()) misuse();
      busy++;
      return root.exec(script).finally(done);
    },
    // One session, in the worker: whatever is busy beyond one waits for PGlite's mutex there.
    poolStats: () => ({ size: 1, busy }),
    transaction(work) {
      if (inside.getStore()) misuse();
      busy++;
      return run(work).finally(done);
    },
    async listen(channel, onPayload, onListen) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        await call({ op: 'listen', channel });
      }
      set.add(onPayload);
      // In this process: the subscription never drops.
      onListen?.();
      return async () => {
        set.delete(onPayload);
      };
    },
    close() {
      closed ??= (async () => {
        try {
          if (!exited) await call({ op: 'close' });
        } finally {
          await worker.terminate();
          release();
        }
      })();
      return closed;
    },
  };
}
