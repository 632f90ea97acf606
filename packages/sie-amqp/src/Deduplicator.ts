import { createHash } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';

export type DedupeKey =
  /** `message_id` when the message has one, else the content hash. */
  'auto' | 'messageId' | 'contentHash' | ((message: ConsumeMessage) => string | undefined);

/** A bounded set of recently handled message keys; the oldest key is forgotten first. */
export class Deduplicator {
  readonly #seen = new Map<string, true>();
  readonly #size: number;
  readonly #key: DedupeKey;

  constructor(size: number, key: DedupeKey = 'auto') {
    this.#size = size;
    this.#key = key;
  }

  keyOf(message: ConsumeMessage): string | undefined {
    const key = this.#key;
    if (typeof key === 'function') return key(message);
    const id = message.properties.messageId;
    if (key !== 'contentHash' && typeof id === 'string' && id !== '') return `id:${id}`;
    if (key === 'messageId') return undefined;
    const headers = message.properties.headers ?? {};
    return `sha256:${createHash('sha256')
      .update(`${String(headers.tenant)}\n${String(headers.topic)}\n`)
      .update(message.content)
      .digest('base64')}`;
  }

  has(key: string): boolean {
    if (!this.#seen.has(key)) return false;
    this.#seen.delete(key);
    this.#seen.set(key, true);
    return true;
  }

  remember(key: string): void {
    this.#seen.delete(key);
    this.#seen.set(key, true);
    if (this.#seen.size > this.#size) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  get size(): number {
    return this.#seen.size;
  }
}
