import type { IPublishPacket, MqttClient, PacketCallback } from 'mqtt';
import { IotHubError } from './IotHubError.js';

/**
 * mqtt.js keeps `_sendPacket` private; it is the only way to send a PUBACK of our own. It is
 * reached here and nowhere else, so a mqtt.js that drops it fails in one place, with one message.
 */
interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number }, cb?: PacketCallback): void;
}

/** One QoS 1 delivery whose PUBACK waits until the message it carries was processed. */
export interface PubackSlot {
  readonly messageId: number;
  /** The connection it arrived on: an ack for a closed one is never sent (the broker re-delivers). */
  readonly connection: number;
  done: boolean;
}

/** What a taken-over client hands on: `slot` is set for QoS 1, to be passed to `ack` once processed. */
export type DeferredMessageHandler = (
  topic: string,
  payload: Buffer,
  slot: PubackSlot | undefined,
) => void;

/** Passed to mqtt.js's `handleMessage` callback: the packet is done, but no PUBACK yet. */
const ACK_DEFERRED = new Error('PUBACK deferred until the message is processed');

/** Past this many sent slots at the head, the array is compacted (amortised, no shift per ack). */
const COMPACT_AFTER = 4096;

/**
 * PUBACKs sent once a QoS 1 message was processed instead of on receipt, so a process that dies
 * mid-way gets the message again from its session. mqtt.js's `handleMessage(packet, callback)`
 * sends the PUBACK when the callback is called, but handles one packet at a time until then; so
 * the callback is called with an error (mqtt.js goes on to the next packet and sends nothing) and
 * the PUBACK goes out later through `_sendPacket`. PUBACKs leave in arrival order, as MQTT asks,
 * and never on a later connection than the delivery's.
 */
export class DeferredPubacks {
  readonly #client: MqttClient;
  readonly #send: PacketSender['_sendPacket'];
  /** PUBACKs owed, in arrival order; `#head` is the oldest not yet sent. */
  #slots: PubackSlot[] = [];
  #head = 0;
  /** Counts the client's connections, so an ack never goes to a later one. */
  #connection = 0;
  #onClose = () => {
    // Un-acked deliveries of that connection come again on the next one (same session).
    this.#connection++;
    this.#slots = [];
    this.#head = 0;
  };

  /**
   * Takes over `client`'s incoming publishes: each one goes to `onMessage`, and a QoS 1 one is
   * acknowledged only by `ack(slot)`. Throws `UNSUPPORTED_CLIENT` when mqtt.js has no `_sendPacket`.
   */
  constructor(client: MqttClient, onMessage: DeferredMessageHandler) {
    const send = (client as unknown as Partial<PacketSender>)._sendPacket;
    if (typeof send !== 'function')
      throw new IotHubError(
        'UNSUPPORTED_CLIENT',
        'this mqtt.js has no private _sendPacket, so PUBACKs cannot be deferred; pin mqtt 5.16.0',
      );
    this.#client = client;
    this.#send = send;
    client.handleMessage = (packet: IPublishPacket, callback: (error?: Error) => void) => {
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload);
      // Handed on before mqtt.js is told to go on, so messages reach `onMessage` in arrival order.
      if (packet.qos !== 1) {
        try {
          onMessage(String(packet.topic), payload, undefined);
        } finally {
          callback();
        }
        return;
      }
      const slot: PubackSlot = {
        messageId: packet.messageId as number,
        connection: this.#connection,
        done: false,
      };
      this.#slots.push(slot);
      try {
        onMessage(String(packet.topic), payload, slot);
      } finally {
        callback(ACK_DEFERRED);
      }
    };
    client.on('close', this.#onClose);
  }

  /** PUBACKs owed on the current connection and not sent yet. */
  get owed(): number {
    return this.#slots.length - this.#head;
  }

  /** Marks the delivery processed and sends the PUBACKs now due, oldest first. */
  ack(slot: PubackSlot): void {
    slot.done = true;
    if (slot.connection !== this.#connection) return;
    const slots = this.#slots;
    while (this.#head < slots.length && (slots[this.#head] as PubackSlot).done) {
      const next = slots[this.#head++] as PubackSlot;
      if (this.#client.connected)
        this.#send.call(this.#client, { cmd: 'puback', messageId: next.messageId });
    }
    if (this.#head === slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > slots.length) {
      slots.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Stops listening for the client's connection ends (the client is being given up). */
  detach(): void {
    this.#client.off('close', this.#onClose);
  }
}
