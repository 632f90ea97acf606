import type { IncomingMessage, ServerResponse } from 'node:http';
import { ControllerId, type Logger, silentLogger, type UpdateService } from '@otaflow/core';
import type { ArtifactSource } from './ArtifactSource.js';
import { DdiError } from './DdiError.js';
import { hawkbitErrorBody } from './http/hawkbitErrors.js';
import { negotiate } from './http/negotiate.js';
import { sendJson } from './http/sendJson.js';
import { parsePollingSleep } from './pollingSleep.js';
import { DDI_TYPES, sendRefusal } from './server/answers.js';
import { authenticate } from './server/authenticate.js';
import { type DdiAuthOptions, DdiRequest, type DdiServerContext } from './server/DdiRequest.js';
import { createDdiRouter, type DdiParams, type DdiRoute } from './server/ddiRouter.js';
import { type RegistrationLimit, RegistrationLimiter } from './server/RegistrationLimiter.js';
import { notReadable, refused } from './server/refusals.js';

export interface DdiServerOptions {
  service: UpdateService;
  tenant: string;
  artifacts: ArtifactSource;
  auth: DdiAuthOptions;
  /** Unknown controllers polling with the gateway token or anonymously are created. */
  autoRegister?: boolean;
  /** `config.polling.sleep`, `HH:MM:SS` (default `00:05:00`). */
  pollingSleep?: string;
  /** Request bodies above this many bytes get 413 (default 64 KiB). */
  maxBodyBytes?: number;
  /**
   * A known target's last-contact time is written at most once per this many ms (default 30 s),
   * like hawkBit's batched poll-time persistence; registration and UNKNOWN -> REGISTERED are
   * always immediate. 0 writes on every poll.
   */
  contactIntervalMs?: number;
  /** Base of generated hrefs, e.g. `https://ota.example.com`; else built from the Host header. */
  publicBaseUrl?: string;
  /**
   * A token bucket per client address (IPv6: per /64) for plug-and-play registrations: a poll
   * that would create a target past it is answered 429 with `Retry-After`; known targets are
   * never limited. On by default (100 at once, 10 per second); `false` turns it off.
   */
  registrationLimit?: RegistrationLimit | false;
  logger?: Logger;
}

export interface DdiServer {
  /** Answers a DDI request; resolves false (and touches nothing) when the path is not DDI's. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /**
   * Changes how devices are let in and how long they are told to sleep, from the next request
   * on: the tenant's configuration changed while the server runs.
   */
  configure(update: Partial<Pick<DdiServerOptions, 'auth' | 'pollingSleep'>>): void;
}

/** The options settled once, as every endpoint reads them. */
export function ddiServerContext(options: DdiServerOptions): DdiServerContext {
  const pollingSleep = options.pollingSleep ?? '00:05:00';
  parsePollingSleep(pollingSleep);
  return {
    service: options.service,
    artifacts: options.artifacts,
    auth: options.auth,
    autoRegister: options.autoRegister === true,
    pollingSleep,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
    contactIntervalMs: options.contactIntervalMs ?? 30_000,
    publicBase: options.publicBaseUrl?.replace(/\/+$/, ''),
    registrations:
      options.registrationLimit === false
        ? undefined
        : new RegistrationLimiter(
            options.registrationLimit,
            options.service.now.bind(options.service),
          ),
    logger: options.logger ?? silentLogger,
  };
}

const INVALID_CONTROLLER_ID =
  'controllerId must be 1 to 256 characters without white space, control characters, slashes, ? or #, and not . or ..';

/**
 * A hawkBit-compatible DDI v1 request handler for `node:http`. It keeps no state: every read and
 * change goes through the `UpdateService`, and every feedback through core's DDI mappings. The
 * endpoints live in `server/endpoints`; this is the path prefix, authentication and the router.
 */
export function createDdiServer(options: DdiServerOptions): DdiServer {
  const server = ddiServerContext(options);
  const tenantLower = options.tenant.toLowerCase();
  const router = createDdiRouter();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = req.url ?? '/';
    // `/{tenant}/controller/v1/{controllerId}...`: the prefix by hand, the rest by the router.
    const end = url.indexOf('?');
    const path = end < 0 ? url : url.slice(0, end);
    const t = path.indexOf('/', 1);
    if (t < 0 || path.charCodeAt(0) !== 47 || !path.startsWith('/controller/v1/', t)) return false;
    const tenantSegment = path.slice(1, t);
    if (tenantSegment.toLowerCase() !== tenantLower) return false;
    const at = t + 15;
    try {
      const slash = path.indexOf('/', at);
      const segment = slash < 0 ? path.slice(at) : path.slice(at, slash);
      let controllerId: string;
      try {
        controllerId = segment.includes('%') ? decodeURIComponent(segment) : segment;
      } catch {
        throw notReadable('controllerId is not valid URL encoding');
      }
      if (!ControllerId.safeParse(controllerId).success) {
        const body = hawkbitErrorBody('constraint', INVALID_CONTROLLER_ID);
        throw new DdiError('REFUSED', INVALID_CONTROLLER_ID, 400, body);
      }
      const target = await server.service.getTarget(controllerId);
      const via = authenticate(server.auth, req, target);
      if (!via) throw refused(401);
      const found = router.find('GET', at === 0 ? path : path.slice(at - 1));
      const route = found?.store as DdiRoute | undefined;
      const method = req.method ?? '';
      if (route && !route.methods.includes(method)) {
        res.setHeader('Allow', route.allow);
        throw refused(405);
      }
      if (method === 'GET' && route?.json !== false && negotiate(req, DDI_TYPES) === undefined)
        throw refused(406);
      if (!route) throw refused(404);
      const ctx = new DdiRequest(server, req, res, tenantSegment, controllerId, target, via);
      await route.run(ctx, found!.params as DdiParams);
    } catch (error) {
      answerFailure(server.logger, req, res, error);
    }
    return true;
  }

  function configure(update: Partial<Pick<DdiServerOptions, 'auth' | 'pollingSleep'>>): void {
    if (update.pollingSleep !== undefined) {
      parsePollingSleep(update.pollingSleep);
      server.pollingSleep = update.pollingSleep;
    }
    if (update.auth !== undefined) server.auth = update.auth;
  }

  return { handle, configure };
}

/** Writes what went wrong: a refusal as such, anything else as hawkBit's 500, logged. */
export function answerFailure(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
): void {
  if (res.headersSent || (error instanceof DdiError && error.code === 'BODY_ABORTED')) {
    res.destroy();
  } else if (error instanceof DdiError && error.code === 'REFUSED') {
    sendRefusal(res, error);
  } else {
    logger.error({ err: error, method: req.method, url: req.url }, 'DDI request failed');
    sendJson(res, 500, hawkbitErrorBody('unknown', 'internal server error'));
  }
}
