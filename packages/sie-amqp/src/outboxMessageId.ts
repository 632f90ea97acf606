/**
 * The `message_id` of the `index`-th SIE message made from outbox entry `id` of `tenant`: the same
 * every time the entry is sent, and never another entry's (outbox ids are one sequence).
 */
export function outboxMessageId(tenant: string, id: number, index: number): string {
  return `otaflow:${tenant}:${id}:${index}`;
}
