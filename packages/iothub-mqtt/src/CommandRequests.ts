import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { type DittoEnvelope, liveMessage, parseDittoEnvelope } from './dittoEnvelope.js';
import { commandRequestTopic, type HonoAddress } from './honoTopics.js';
import { IotHubError } from './IotHubError.js';

export interface CommandResult {
  requestId: string;
  correlationId: string;
  status: number;
  response?: DittoEnvelope | undefined;
}

export interface CommandRequest {
  deviceId: string;
  /** Ditto thing and feature the live message is addressed to. */
  thingId: string;
  featureId: string;
  subject: string;
  value: unknown;
  /** The update's correlationId (the value's), returned in the result. */
  correlationId: string;
  /** Called when the broker has the command (PUBACK, QoS 1), or with the error of the publish. */
  published?: (error: Error | undefined) => void;
}

export interface CommandRequestsOptions {
  address: (deviceId: string) => HonoAddress;
  /** How long to wait for a device's command response. */
  timeoutMs: number;
}

interface Pending {
  resolve: (answer: { status: number; response?: DittoEnvelope | undefined }) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Commands as Hono request/response: a live message on the device's command topic under a fresh
 * request id, answered on `command/.../res/<requestId>/<status>`. One attempt per call; retrying
 * is `CommandDelivery`'s business.
 */
export class CommandRequests {
  readonly #options: CommandRequestsOptions;
  readonly #pending = new Map<string, Pending>();

  constructor(options: CommandRequestsOptions) {
    this.#options = options;
  }

  /** Resolves on a 2xx answer; rejects `COMMAND_FAILED` (>= 300), `RESPONSE_TIMEOUT`, `NOT_CONNECTED`. */
  async send(client: MqttClient | undefined, request: CommandRequest): Promise<CommandResult> {
    if (!client) throw new IotHubError('NOT_CONNECTED', 'commander not started');
    const { deviceId, subject, correlationId } = request;
    const requestId = randomUUID();
    const timeoutMs = this.#options.timeoutMs;
    const envelope = liveMessage({
      thingId: request.thingId,
      featureId: request.featureId,
      subject,
      value: request.value,
      timeout: `${Math.ceil(timeoutMs / 1000)}s`,
    });
    const answer = new Promise<{ status: number; response?: DittoEnvelope | undefined }>(
      (resolve, reject) => {
        const timer = setTimeout(() => {
          this.#pending.delete(requestId);
          reject(
            new IotHubError(
              'RESPONSE_TIMEOUT',
              `${subject} to ${deviceId}: no response in ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        this.#pending.set(requestId, { resolve, reject, timer });
      },
    );
    client.publish(
      commandRequestTopic(this.#options.address(deviceId), requestId, subject),
      JSON.stringify(envelope),
      { qos: 1 },
      (error) => request.published?.(error ?? undefined),
    );
    const { status, response } = await answer;
    if (status >= 300) {
      throw new IotHubError('COMMAND_FAILED', `${subject} to ${deviceId} answered ${status}`, {
        status,
        response,
      });
    }
    return { requestId, correlationId, status, response };
  }

  /**
   * A device's response; one for no request of ours (late, or another commander's) is ignored.
   * Returns whether it answered a request.
   */
  answer(requestId: string, status: number, payload: Buffer): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending) return false;
    this.#pending.delete(requestId);
    clearTimeout(pending.timer);
    let response: DittoEnvelope | undefined;
    try {
      response = parseDittoEnvelope(payload);
    } catch {
      // The status in the topic is what counts; a body is optional.
    }
    pending.resolve({ status, response });
    return true;
  }

  /** Every request still waiting rejects `NOT_CONNECTED`. */
  rejectAll(reason: string): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new IotHubError('NOT_CONNECTED', reason));
      this.#pending.delete(id);
    }
  }
}
