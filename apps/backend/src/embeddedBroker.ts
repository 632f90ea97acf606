import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Logger, UpdateService } from '@otaflow/core';
import {
  authorizePublish,
  authorizeSubscribe,
  type BrokerIdentity,
  deliveredTopic,
  isTopicSegment,
  parseHonoUsername,
  type SubscribedForm,
  sameSecret,
} from '@otaflow/iothub-mqtt';
import { Aedes, type AuthenticateError, type Client } from 'aedes';

/** The auth id of the backend's own commander; no device can log in under it. */
export const COMMANDER_AUTH_ID = 'otaflow-commander';

export interface EmbeddedBrokerOptions {
  tenant: string;
  /** Where a device's security token (its per-device password) is read. */
  service: Pick<UpdateService, 'getTarget'>;
  /**
   * A password every device of the tenant may use, known or not, so that a new device can
   * register itself by announcing SoftwareUpdatable (as DDI's gateway token). Unset: only
   * targets that exist, each with its own security token.
   */
  devicePassword?: string | undefined;
  /** The commander's MQTT client id, kept for it alone (its persistent session holds reports). */
  commanderClientId: string;
  logger: Logger;
}

export interface EmbeddedBroker {
  url: string;
  /** The commander's login, generated at start: `otaflow-commander@<tenant>` and a random password. */
  commander: { username: string; password: string };
  close(): Promise<void>;
}

const refusal = (returnCode: 2 | 3 | 4 | 5, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError;

/**
 * An aedes broker on a free loopback port, so the backend needs no MQTT service; it checks
 * logins and topics as Hono's MQTT adapter does. Devices log in as `<device-id>@<tenant>` with
 * their target's security token (or the shared device password) and may publish and subscribe
 * on their own topics only, in Hono's authenticated or explicit form; the commander logs in with
 * a credential made at start and may use the commander's topics only. A wrong login gets a
 * refused CONNACK, a forbidden subscription SUBACK 0x80, a forbidden publish closes the
 * connection (Hono's default without an error subscription). An external broker (`MQTT_URL`)
 * is the operator's to secure.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { tenant, service, devicePassword, logger } = options;
  const commander = {
    username: `${COMMANDER_AUTH_ID}@${tenant}`,
    password: randomBytes(32).toString('base64url'),
  };
  const identities = new WeakMap<Client, BrokerIdentity>();
  const forms = new WeakMap<Client, SubscribedForm>();
  // A client id names a session: whoever resumes it gets its queued messages. So an id stays
  // with the identity that used it while its session may live (until a clean client leaves).
  const owners = new Map<string, string>([[options.commanderClientId, 'commander']]);
  const ownerKey = (identity: BrokerIdentity) =>
    identity.kind === 'commander' ? 'commander' : `device:${identity.deviceId}`;

  const identify = async (
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<BrokerIdentity | string> => {
    const login = parseHonoUsername(username);
    if (!login || login.tenant !== tenant) return 'unknown login';
    if (login.authId === COMMANDER_AUTH_ID)
      return sameSecret(password, commander.password)
        ? { kind: 'commander', tenant }
        : 'wrong commander password';
    if (!isTopicSegment(login.authId)) return 'invalid device id';
    const device: BrokerIdentity = { kind: 'device', tenant, deviceId: login.authId };
    if (devicePassword !== undefined && sameSecret(password, devicePassword)) return device;
    const target = await service.getTarget(login.authId);
    if (target && sameSecret(password, target.securityToken)) return device;
    return 'wrong credentials';
  };

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      identify(username, password).then(
        (identity) => {
          if (typeof identity === 'string') {
            logger.warn({ clientId: client.id, username, reason: identity }, 'MQTT login refused');
            return done(refusal(4, identity), false);
          }
          const owner = owners.get(client.id);
          if (owner !== undefined && owner !== ownerKey(identity)) {
            logger.warn({ clientId: client.id, username }, 'MQTT client id of another identity');
            return done(refusal(2, 'client id in use by another identity'), false);
          }
          owners.set(client.id, ownerKey(identity));
          identities.set(client, identity);
          done(null, true);
        },
        (err: unknown) => {
          logger.error({ err, clientId: client.id }, 'MQTT login not checked');
          done(refusal(3, 'credentials could not be checked'), false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      const identity = client ? identities.get(client) : undefined;
      const topic = identity && authorizePublish(identity, packet.topic);
      if (!topic) {
        logger.warn({ clientId: client?.id, topic: packet.topic }, 'MQTT publish refused');
        return done(new Error(`publish to ${packet.topic} not allowed`));
      }
      // The commander reads every device's reports in the explicit form.
      packet.topic = topic;
      done(null);
    },
    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      const allowed = identity && authorizeSubscribe(identity, subscription.topic);
      if (!allowed) {
        logger.warn({ clientId: client.id, filter: subscription.topic }, 'MQTT subscribe refused');
        return done(null, null);
      }
      if (allowed.form) forms.set(client, allowed.form);
      subscription.topic = allowed.filter;
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      const form = forms.get(client);
      if (!form) return packet;
      return { ...packet, topic: deliveredTopic(packet.topic, form) } as typeof packet;
    },
  });
  broker.on('clientDisconnect', (client) => {
    if (client.clean && owners.get(client.id) !== 'commander') owners.delete(client.id);
  });

  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    commander,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
