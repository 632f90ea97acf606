import type { DomainEvent } from '@otaflow/core';
import { authHeaders, logout } from './api';
import { createSseParser } from './sse';

/** A domain event as `/events` sends it, or `reset`: the stream lost track, reload everything. */
export type StreamEvent = (DomainEvent & { tenant: string }) | { type: 'reset'; tenant: string };
export type StreamState = 'connecting' | 'live' | 'offline';

type Listener = (event: StreamEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(state: StreamState) => void>();
let state: StreamState = 'offline';
let abort: AbortController | undefined;
let lastId: string | undefined;

function setState(next: StreamState) {
  state = next;
  for (const listener of stateListeners) listener(next);
}

export function streamState(): StreamState {
  return state;
}

export function onStreamState(listener: (state: StreamState) => void): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

/** Hears every event from now on; the one connection opens with the first listener. */
export function onStreamEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Keeps one `/events` stream open while logged in. EventSource cannot send an Authorization
 * header, so this reads the stream with fetch, and reconnects itself with `Last-Event-ID`, so that
 * nothing is missed across a dropped connection (or `reset` says the gap was too long).
 */
export function connectStream(): void {
  if (abort) return;
  const controller = new AbortController();
  abort = controller;
  void (async () => {
    let delay = 500;
    while (!controller.signal.aborted) {
      setState('connecting');
      try {
        const headers = { ...authHeaders(), Accept: 'text/event-stream' };
        const res = await fetch('/events', {
          headers: lastId ? { ...headers, 'Last-Event-ID': lastId } : headers,
          signal: controller.signal,
          cache: 'no-store',
        });
        if (res.status === 401) {
          logout();
          break;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setState('live');
        delay = 500;
        const parse = createSseParser((message) => {
          if (message.id) lastId = message.id;
          const event = JSON.parse(message.data) as StreamEvent;
          for (const listener of listeners) listener(event);
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parse(value);
        }
      } catch {
        if (controller.signal.aborted) break;
      }
      setState('offline');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
    setState('offline');
  })();
}

export function disconnectStream(): void {
  abort?.abort();
  abort = undefined;
  lastId = undefined;
}
