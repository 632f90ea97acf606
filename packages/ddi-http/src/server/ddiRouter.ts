import Router from 'find-my-way';
import type { DdiRequest } from './DdiRequest.js';
import { getArtifact, getArtifacts } from './endpoints/artifacts.js';
import { getCancelAction, postCancelFeedback } from './endpoints/cancelAction.js';
import {
  activateAutoConfirm,
  deactivateAutoConfirm,
  getConfirmationAction,
  getConfirmationBase,
  postConfirmationFeedback,
} from './endpoints/confirmationBase.js';
import { getDeploymentBase, postDeploymentFeedback } from './endpoints/deploymentBase.js';
import { getRoot } from './endpoints/getRoot.js';
import { getInstalledBase, putInstalledBase } from './endpoints/installedBase.js';
import { putConfigData } from './endpoints/putConfigData.js';
import { refused } from './refusals.js';

export type DdiParams = { [name: string]: string | undefined };
type Run = (ctx: DdiRequest, params: DdiParams) => Promise<void>;

/** One DDI resource: the methods it answers, and how. */
export interface DdiRoute {
  methods: readonly string[];
  /** The `Allow` header of a 405. */
  allow: string;
  /** A JSON resource, so a GET first needs an acceptable media type (406). */
  json: boolean;
  run: Run;
}

/** A positive id of at most 2^53-1; anything else names no action or module. */
export function idOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const length = text.length;
  if (length === 0 || length > 16) return undefined;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const n = Number(text);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function byAction(endpoint: (ctx: DdiRequest, actionId: number) => Promise<void>): Run {
  return (ctx, params) => {
    const id = idOf(params.actionId);
    if (id === undefined) throw refused(404);
    return endpoint(ctx, id);
  };
}

const runArtifacts: Run = (ctx, params) => {
  const id = idOf(params.moduleId);
  if (id === undefined) throw refused(404);
  return getArtifacts(ctx, id);
};

const runArtifact: Run = (ctx, params) => {
  const id = idOf(params.moduleId);
  if (id === undefined || params.filename === undefined) throw refused(404);
  return getArtifact(ctx, id, params.filename);
};

const ROUTES: ReadonlyArray<[path: string, methods: string[], run: Run]> = [
  ['', ['GET'], getRoot],
  ['/deploymentBase/:actionId', ['GET'], byAction(getDeploymentBase)],
  ['/deploymentBase/:actionId/feedback', ['POST'], byAction(postDeploymentFeedback)],
  ['/cancelAction/:actionId', ['GET'], byAction(getCancelAction)],
  ['/cancelAction/:actionId/feedback', ['POST'], byAction(postCancelFeedback)],
  ['/installedBase', ['PUT'], putInstalledBase],
  ['/installedBase/:actionId', ['GET'], byAction(getInstalledBase)],
  ['/configData', ['PUT'], putConfigData],
  ['/confirmationBase', ['GET'], getConfirmationBase],
  ['/confirmationBase/activateAutoConfirm', ['POST'], activateAutoConfirm],
  ['/confirmationBase/deactivateAutoConfirm', ['POST'], deactivateAutoConfirm],
  ['/confirmationBase/:actionId', ['GET'], byAction(getConfirmationAction)],
  ['/confirmationBase/:actionId/feedback', ['POST'], byAction(postConfirmationFeedback)],
  ['/softwaremodules/:moduleId/artifacts', ['GET'], runArtifacts],
  ['/softwaremodules/:moduleId/artifacts/:filename', ['GET', 'HEAD'], runArtifact],
];

function noop(): void {}

/**
 * The DDI resources under `/{controllerId}` (the part of the path after `/{tenant}/controller/v1`),
 * in one find-my-way router. Each resource is stored once, under GET whatever its methods: the
 * route's own list decides, so a wrong method is 405 with `Allow` rather than 404.
 */
export function createDdiRouter(): Router.Instance<Router.HTTPVersion.V1> {
  // Controller ids and file names may be 256 characters and more (find-my-way's default is 100).
  const router = Router({ maxParamLength: 2048 });
  for (const [path, methods, run] of ROUTES) {
    const route: DdiRoute = {
      methods,
      allow: methods.join(', '),
      json: !path.endsWith(':filename'),
      run,
    };
    router.on('GET', `/:controllerId${path}`, noop, route);
  }
  return router.compile();
}
