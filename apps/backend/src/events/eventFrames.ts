import type { DomainEvent } from '@otaflow/core';

/**
 * What a console may see of a domain event: all of it but the targets' security tokens, which an
 * assignment carries for SIE consumers and which a browser has no use for.
 */
export function publicEvent(event: DomainEvent): Record<string, unknown> {
  if (event.type !== 'UPDATE_ASSIGNMENT') return event;
  return {
    ...event,
    targets: event.targets.map(({ securityToken: _hidden, ...target }) => target),
  };
}

/** One SSE message; `data` is one line of JSON, so it needs no splitting. */
export function sseFrame(id: string, type: string, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const HEARTBEAT_FRAME = ': heartbeat\n\n';
