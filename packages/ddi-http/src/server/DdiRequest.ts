import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, TargetView, UpdateService } from '@otaflow/core';
import type { ArtifactSource } from '../ArtifactSource.js';
import type { RegistrationLimiter } from './RegistrationLimiter.js';

export interface DdiAuthOptions {
  /** `Authorization: TargetToken <token>` checked against the target's security token. */
  targetToken: boolean;
  /** The tenant's gateway key for `Authorization: GatewayToken <key>`; unset disables it. */
  gatewayToken?: string;
  /** Requests without an `Authorization` header are let in (hawkBit no longer offers this). */
  anonymous?: boolean;
}

/** What every endpoint of one server shares: the service and the settled options. */
export interface DdiServerContext {
  service: UpdateService;
  artifacts: ArtifactSource;
  /** Read on every request, so a gateway key changed while the server runs takes effect. */
  auth: DdiAuthOptions;
  autoRegister: boolean;
  /** `config.polling.sleep`, `HH:MM:SS`. */
  pollingSleep: string;
  maxBodyBytes: number;
  contactIntervalMs: number;
  /** Base of generated hrefs without a trailing slash; else built from the Host header. */
  publicBase: string | undefined;
  /** Plug-and-play registrations per client address; undefined when unlimited. */
  registrations: RegistrationLimiter | undefined;
  logger: Logger;
}

/** How the request was let in. */
export type DdiVia = 'target' | 'gateway' | 'anonymous';

/** One authenticated request to one controller's resources. */
export class DdiRequest {
  #base: string | undefined;
  constructor(
    readonly server: DdiServerContext,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** The tenant as the path spells it, kept for the hrefs. */
    readonly tenantSegment: string,
    readonly controllerId: string,
    /** The target as read for authentication; undefined when unknown. */
    readonly target: TargetView | undefined,
    readonly via: DdiVia,
  ) {}

  get service(): UpdateService {
    return this.server.service;
  }

  /** The controller's base href, built only by the answers that carry links. */
  get base(): string {
    if (this.#base === undefined) {
      const origin =
        this.server.publicBase ??
        `${(this.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http'}://${this.req.headers.host ?? 'localhost'}`;
      this.#base = `${origin}/${this.tenantSegment}/controller/v1/${encodeURIComponent(this.controllerId)}`;
    }
    return this.#base;
  }
}
