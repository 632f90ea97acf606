import http from 'node:http';
import net from 'node:net';
import {
  actionMachine,
  type MachineTransition,
  type PersistedSnapshot,
  restoreAction,
  restoreTarget,
  targetMachine,
} from '@otaflow/core';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { BackendError } from './BackendError.js';
import type { Logger } from './logger.js';

export interface InspectionOptions {
  /** Inspector server port; 0 picks a free one. */
  port: number;
  logger?: Logger;
}

export interface Inspection {
  /** The inspector server (open it in a browser: it embeds the Stately inspector UI). */
  url: string;
  /** Where the WebSocket inspector sends, and where other clients can listen. */
  wsUrl: string;
  /** Pass as `UpdateServiceOptions.onTransition`. */
  onTransition(transition: MachineTransition): void;
  close(): Promise<void>;
}

/** The inspector's session id of a machine: `target:<controllerId>` or `action:<id>`. */
export function sessionIdOf(transition: Pick<MachineTransition, 'machine' | 'id'>): string {
  return `${transition.machine}:${transition.id}`;
}

/**
 * Streams every target and action machine of the UpdateService to the Stately inspector. The
 * machines are not running actors (core applies events to stored snapshots), so each one is
 * announced by hand: `actor()` on first sight, then `event()` and `snapshot()` per transition.
 */
export async function startInspection(options: InspectionOptions): Promise<Inspection> {
  const { server, port } = await startLoopbackInspectorServer(options.port);
  const wsUrl = `ws://127.0.0.1:${port}`;
  const inspector = createWebSocketInspector({
    url: wsUrl,
    autoStart: true,
    maxDeferredEvents: 1000,
  });
  const known = new Set<string>();
  const log = options.logger;

  const inspected = (machine: MachineTransition['machine'], snapshot: PersistedSnapshot) => {
    let status: 'active' | 'done' = 'active';
    try {
      const restored = machine === 'action' ? restoreAction(snapshot) : restoreTarget(snapshot);
      if (restored.status === 'done') status = 'done';
    } catch {
      // A snapshot core cannot restore is still worth showing as it is.
    }
    return { status, value: snapshot.value, context: snapshot.context };
  };

  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl,
    onTransition(transition) {
      try {
        const sessionId = sessionIdOf(transition);
        const snapshot = inspected(transition.machine, transition.snapshot);
        if (!known.has(sessionId)) {
          known.add(sessionId);
          // A stand-in actor ref: the inspector draws the machine from `logic.config` and names
          // the actor after the config's id, so the id becomes the session id.
          const machine = transition.machine === 'action' ? actionMachine : targetMachine;
          const logic = { config: { ...machine.config, id: sessionId } };
          const ref = { sessionId, id: sessionId, logic, send() {}, getSnapshot: () => snapshot };
          inspector.actor(ref as unknown as Parameters<typeof inspector.actor>[0], snapshot);
        }
        if (transition.event) {
          const event = { ...transition.event };
          inspector.event(sessionId, event);
          inspector.snapshot(sessionId, snapshot, { event });
        } else {
          inspector.snapshot(sessionId, snapshot, { event: { type: 'xstate.init' } });
        }
      } catch (error) {
        log?.warn({ err: error }, 'inspection failed');
      }
    },
    async close() {
      inspector.stop();
      server.stop();
    },
  };
}

/**
 * `createInspectorServer` listens on every interface and offers no host option. It calls
 * `listen(port, cb)` synchronously, so for exactly that call `http.Server#listen` is redirected
 * to 127.0.0.1; the server instance is captured too, which gives the real port (0 works) and a
 * listen error instead of an uncaught one.
 */
async function startLoopbackInspectorServer(port: number) {
  const proto = http.Server.prototype as unknown as { listen: (...args: unknown[]) => unknown };
  const own = Object.getOwnPropertyDescriptor(proto, 'listen');
  let captured: http.Server | undefined;
  proto.listen = function listenOnLoopback(this: http.Server, ...args: unknown[]) {
    captured = this;
    const callback = typeof args[1] === 'function' ? (args[1] as () => void) : undefined;
    return net.Server.prototype.listen.call(
      this,
      { port: Number(args[0]), host: '127.0.0.1' },
      callback,
    );
  };
  let server: { stop(): void };
  try {
    server = createInspectorServer({ port, autoOpen: false });
  } finally {
    if (own) Object.defineProperty(proto, 'listen', own);
    else delete (proto as { listen?: unknown }).listen;
  }
  const httpServer = captured;
  if (!httpServer) throw new BackendError('INSPECTOR', 'the inspector server did not start');
  await new Promise<void>((resolve, reject) => {
    if (httpServer.listening) resolve();
    httpServer.once('listening', resolve);
    httpServer.once('error', (error) =>
      reject(new BackendError('INSPECTOR', `inspector server: ${error.message}`)),
    );
  });
  const address = httpServer.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, port: actual };
}
