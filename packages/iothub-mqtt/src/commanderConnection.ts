import type { Logger } from '@otaflow/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/**
 * What a commander subscribes to (QoS 1): reports in both topic forms, and command responses.
 * With `sharedGroup`, the reports go through an MQTT 5 shared subscription
 * (`$share/<group>/...`): commanders of several backends in one group each get a share of the
 * devices' reports instead of all of them. Command responses stay unshared, since only the
 * commander that sent a command waits for its response (the others drop it as not theirs).
 */
export function commanderFilters(tenant: string, sharedGroup?: string): string[] {
  const share = sharedGroup ? `$share/${sharedGroup}/` : '';
  return [
    `${share}e/${tenant}/+/#`,
    `${share}event/${tenant}/+/#`,
    `${share}t/${tenant}/+/#`,
    `${share}telemetry/${tenant}/+/#`,
    `command/${tenant}/+/res/#`,
    `c/${tenant}/+/s/#`,
  ];
}

/**
 * Whether a failed first connection means the broker does not speak MQTT 5: a CONNACK refusing
 * the protocol (3.1.1's code 1 "unacceptable protocol version", 5's 0x84), or the connection
 * closed without any CONNACK and without a network error (a broker that just hangs up).
 */
export function refusesMqtt5(event: {
  errorCode?: unknown;
  closedWithoutConnack?: boolean;
}): boolean {
  if (event.errorCode === 1 || event.errorCode === 132) return true;
  return event.closedWithoutConnack === true && typeof event.errorCode !== 'string';
}

export interface CommanderConnectionOptions {
  url: string;
  clientId: string;
  /** MQTT 5 session expiry after a disconnect (default 3600 s). */
  sessionExpirySeconds?: number | undefined;
  /** MQTT 5 receive maximum (default 65535). */
  receiveMaximum?: number | undefined;
  /** Override everything above; `protocolVersion` pins the version (no fallback). */
  mqttOptions?: IClientOptions | undefined;
  log: Logger;
  /** Wires a new client (handlers); the returned function unwires it when it is given up. */
  onClient: (client: MqttClient, protocolVersion: 4 | 5) => () => void;
  /** Once true, a refused MQTT 5 connection is not followed by a 3.1.1 one. */
  stopped: () => boolean;
}

/** The commander's own connection options for one protocol version. */
export function commanderClientOptions(
  options: Omit<CommanderConnectionOptions, 'url' | 'log' | 'onClient' | 'stopped'>,
  version: 4 | 5,
): IClientOptions {
  const client: IClientOptions = {
    clientId: options.clientId,
    // A persistent session: reports published while we are away wait for us.
    clean: false,
    resubscribe: false,
    reconnectPeriod: 1000,
    protocolVersion: version,
  };
  if (version === 5)
    client.properties = {
      receiveMaximum: options.receiveMaximum ?? 65535,
      sessionExpiryInterval: options.sessionExpirySeconds ?? 3600,
    };
  return { ...client, ...options.mqttOptions };
}

/**
 * Connects with MQTT 5 (large receive maximum, persistent session), or with 3.1.1 when the broker
 * refuses 5 on the first connection (aedes). Resolves on the first CONNACK accepted.
 */
export function connectCommander(options: CommanderConnectionOptions): Promise<void> {
  const pinned = options.mqttOptions?.protocolVersion;
  return new Promise<void>((resolve) => {
    const open = (version: 4 | 5) => {
      const clientOptions = commanderClientOptions(options, version);
      const client = mqtt.connect(options.url, clientOptions);
      const unwire = options.onClient(client, clientOptions.protocolVersion === 5 ? 5 : 4);
      const mayFallBack = version === 5 && pinned === undefined;
      let errorCode: unknown;
      const onError = (error: Error) => {
        errorCode = (error as { code?: unknown }).code;
        if (mayFallBack && refusesMqtt5({ errorCode })) fallBack();
      };
      const onClose = () => {
        if (mayFallBack && refusesMqtt5({ errorCode, closedWithoutConnack: true })) fallBack();
        errorCode = undefined;
      };
      const onConnect = () => {
        done();
        resolve();
      };
      const done = () => {
        client.off('error', onError);
        client.off('close', onClose);
        client.off('connect', onConnect);
      };
      const fallBack = () => {
        done();
        options.log.info({ url: options.url }, 'broker refused MQTT 5; connecting with MQTT 3.1.1');
        unwire();
        client.end(true);
        if (!options.stopped()) open(4);
      };
      client.on('error', onError);
      client.on('close', onClose);
      client.on('connect', onConnect);
    };
    open(pinned === 4 || pinned === 3 ? 4 : 5);
  });
}
