import { randomUUID } from 'node:crypto';
import type { Options } from 'amqplib';
import { SIE_CONTENT_TYPE, type SieMessage } from './messages.js';

export interface EncodedSieMessage {
  content: Buffer;
  options: Options.Publish;
}

/**
 * The bytes and AMQP properties of one SIE message: headers `type`, `topic`, `tenant`, property
 * `content_type` application/json, persistent delivery. `messageId` is our addition (the page
 * lists none) so that consumers can drop the duplicates a publisher retry may create.
 */
export function encodeSieMessage(
  message: SieMessage,
  options: { messageId?: string | false } = {},
): EncodedSieMessage {
  const publish: Options.Publish = {
    persistent: true,
    contentType: SIE_CONTENT_TYPE,
    headers: {
      type: message.headers.type,
      topic: message.headers.topic,
      tenant: message.headers.tenant,
    },
  };
  if (options.messageId !== false) publish.messageId = options.messageId ?? randomUUID();
  return { content: Buffer.from(JSON.stringify(message.body), 'utf8'), options: publish };
}
