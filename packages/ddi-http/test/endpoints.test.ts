/**
 * The endpoint modules called directly, with no HTTP server: a request context, a response with
 * nothing behind it, and the service.
 */
import { MemoryUpdateStore, type TargetView, UpdateService } from '@otaflow/core';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  activateAutoConfirm,
  answerFailure,
  authenticate,
  cancelJson,
  createDdiRouter,
  type DdiAuthOptions,
  DdiError,
  DdiRequest,
  type DdiRoute,
  type DdiServerContext,
  type DdiVia,
  ddiServerContext,
  getCancelAction,
  getConfirmationBase,
  getDeploymentBase,
  getRoot,
  idOf,
  postDeploymentFeedback,
  putConfigData,
} from '../src/index.js';
import { exchange } from './exchange.js';

let service: UpdateService;
let server: DdiServerContext;
const auth: DdiAuthOptions = { targetToken: true, gatewayToken: 'gw' };

beforeEach(() => {
  service = new UpdateService({ store: new MemoryUpdateStore() });
  server = ddiServerContext({
    service,
    tenant: 'DEFAULT',
    artifacts: { stat: async () => undefined, createReadStream: async () => undefined as never },
    auth,
    pollingSleep: '00:00:07',
    publicBaseUrl: 'https://ota.example.com/',
  });
});

function call(
  method: string,
  path: string,
  target: TargetView | undefined,
  controllerId: string,
  options: { headers?: Record<string, string>; body?: string; via?: DdiVia } = {},
) {
  const x = exchange(
    method,
    `/DEFAULT/controller/v1/${controllerId}${path}`,
    options.headers,
    options.body,
  );
  const ctx = new DdiRequest(
    server,
    x.req,
    x.res,
    'DEFAULT',
    controllerId,
    target,
    options.via ?? 'gateway',
  );
  return { ctx, ...x };
}

/** Runs an endpoint as the server would: a refusal is written as its answer. */
async function run(x: ReturnType<typeof call>, endpoint: (ctx: DdiRequest) => Promise<void>) {
  try {
    await endpoint(x.ctx);
  } catch (error) {
    answerFailure(server.logger, x.req, x.res, error);
  }
  return x.answer;
}

async function assigned(controllerId: string) {
  await service.createTarget({ controllerId });
  const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
  await service.addArtifact(module.id, {
    filename: 'fw.bin',
    size: 3,
    hashes: { sha1: 'A'.repeat(40), md5: 'B'.repeat(32), sha256: 'C'.repeat(64) },
  });
  const set = await service.createDistributionSet({
    name: 'fw',
    version: '1',
    modules: [module.id],
  });
  const { actions } = await service.assign(set.id, [{ controllerId }]);
  return {
    target: (await service.getTarget(controllerId))!,
    actionId: actions[0]!.id,
    moduleId: module.id,
  };
}

describe('getRoot', () => {
  it('answers the poll with the configured sleep and a deploymentBase link', async () => {
    const { target, actionId } = await assigned('dev-1');
    const answer = await run(call('GET', '', target, 'dev-1'), getRoot);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/hal+json;charset=UTF-8');
    expect(answer.headers.etag).toMatch(/^"0[0-9a-f]{32}"$/);
    const body = JSON.parse(answer.text);
    expect(body.config.polling.sleep).toBe('00:00:07');
    expect(body._links.deploymentBase.href).toMatch(
      new RegExp(
        `^https://ota\\.example\\.com/DEFAULT/controller/v1/dev-1/deploymentBase/${actionId}\\?c=-?\\d+$`,
      ),
    );
    // The same body again with its ETag is 304, with nothing in it.
    const again = await run(
      call('GET', '', await service.getTarget('dev-1'), 'dev-1', {
        headers: { 'if-none-match': answer.headers.etag! },
      }),
      getRoot,
    );
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('answers json when asked for it, and 404 to an unknown target without auto-registration', async () => {
    const { target } = await assigned('dev-2');
    const json = await run(
      call('GET', '', target, 'dev-2', { headers: { accept: 'application/json' } }),
      getRoot,
    );
    expect(json.headers['content-type']).toBe('application/json;charset=UTF-8');
    const unknown = await run(call('GET', '', undefined, 'nobody'), getRoot);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text).errorCode).toBe('hawkbit.server.error.repo.entityNotFound');
  });
});

describe('deploymentBase', () => {
  it('shows the deployment with https links and records RETRIEVED once', async () => {
    const { target, actionId, moduleId } = await assigned('dev-3');
    const answer = await run(call('GET', `/deploymentBase/${actionId}`, target, 'dev-3'), (ctx) =>
      getDeploymentBase(ctx, actionId),
    );
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.text);
    expect(body.id).toBe(String(actionId));
    expect(body.deployment.download).toBe('forced');
    const artifact = body.deployment.chunks[0].artifacts[0];
    expect(artifact.hashes.sha1).toBe('a'.repeat(40));
    expect(artifact._links.download.href).toBe(
      `https://ota.example.com/DEFAULT/controller/v1/dev-3/softwaremodules/${moduleId}/artifacts/fw.bin`,
    );
    expect((await service.getAction(actionId))?.status).toBe('RETRIEVED');
    await run(call('GET', `/deploymentBase/${actionId}`, target, 'dev-3'), (ctx) =>
      getDeploymentBase(ctx, actionId),
    );
    const history = (await service.getActionHistory(actionId)) ?? [];
    expect(history.filter((e) => e.status === 'RETRIEVED')).toHaveLength(1);
  });

  it("refuses another target's action with 404 and leaves it alone", async () => {
    const { actionId } = await assigned('dev-4');
    const other = await service.createTarget({ controllerId: 'dev-5' });
    const answer = await run(call('GET', `/deploymentBase/${actionId}`, other, 'dev-5'), (ctx) =>
      getDeploymentBase(ctx, actionId),
    );
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text).message).toBe(
      `Not a valid action (${actionId}) for target dev-5.`,
    );
    expect((await service.getAction(actionId))?.status).toBe('RUNNING');
  });

  it('applies closing feedback, then answers 410 to a late report', async () => {
    const { target, actionId } = await assigned('dev-6');
    const feedback = JSON.stringify({
      status: { execution: 'closed', result: { finished: 'success' } },
    });
    const post = () =>
      run(
        call('POST', `/deploymentBase/${actionId}/feedback`, target, 'dev-6', {
          headers: { 'content-type': 'application/json' },
          body: feedback,
        }),
        (ctx) => postDeploymentFeedback(ctx, actionId),
      );
    expect((await post()).status).toBe(200);
    expect((await service.getAction(actionId))?.status).toBe('FINISHED');
    expect((await service.getTarget('dev-6'))?.updateStatus).toBe('IN_SYNC');
    expect((await post()).status).toBe(410);
  });

  it('answers 415 without a JSON type and 400 with hawkBit body to bad JSON', async () => {
    const { target, actionId } = await assigned('dev-7');
    const plain = await run(
      call('POST', `/deploymentBase/${actionId}/feedback`, target, 'dev-7', {
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      }),
      (ctx) => postDeploymentFeedback(ctx, actionId),
    );
    expect(plain.status).toBe(415);
    const bad = await run(
      call('POST', `/deploymentBase/${actionId}/feedback`, target, 'dev-7', {
        headers: { 'content-type': 'application/json' },
        body: '{"status":',
      }),
      (ctx) => postDeploymentFeedback(ctx, actionId),
    );
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).exceptionClass).toBe(
      'org.eclipse.hawkbit.rest.exception.MessageNotReadableException',
    );
  });
});

describe('cancelAction, confirmationBase, configData', () => {
  it('shows a cancel once the action is canceling', async () => {
    const { target, actionId } = await assigned('dev-8');
    await service.cancel(actionId);
    const answer = await run(call('GET', `/cancelAction/${actionId}`, target, 'dev-8'), (ctx) =>
      getCancelAction(ctx, actionId),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual(cancelJson((await service.getAction(actionId))!));
  });

  it('turns auto-confirmation on, then refuses it twice with 409', async () => {
    const target = await service.createTarget({ controllerId: 'dev-9' });
    const on = await run(
      call('POST', '/confirmationBase/activateAutoConfirm', target, 'dev-9'),
      activateAutoConfirm,
    );
    expect(on.status).toBe(200);
    const now = (await service.getTarget('dev-9'))!;
    expect(now.autoConfirm?.active).toBe(true);
    const twice = await run(
      call('POST', '/confirmationBase/activateAutoConfirm', now, 'dev-9'),
      activateAutoConfirm,
    );
    expect(twice.status).toBe(409);
    expect(JSON.parse(twice.text).errorCode).toBe(
      'hawkbit.server.error.repo.autoConfAlreadyActive',
    );
    const base = JSON.parse(
      (await run(call('GET', '/confirmationBase', now, 'dev-9'), getConfirmationBase)).text,
    );
    expect(base.autoConfirm.active).toBe(true);
    expect(base._links.deactivateAutoConfirm.href).toBe(
      'https://ota.example.com/DEFAULT/controller/v1/dev-9/confirmationBase/deactivateAutoConfirm',
    );
  });

  it('merges attributes and refuses over-long ones', async () => {
    const target = await service.createTarget({ controllerId: 'dev-10' });
    const put = (data: Record<string, string | null>) =>
      run(
        call('PUT', '/configData', target, 'dev-10', {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ data }),
        }),
        putConfigData,
      );
    expect((await put({ hw: 'rev2' })).status).toBe(200);
    expect((await service.getTarget('dev-10'))?.attributes).toMatchObject({ hw: 'rev2' });
    const long = await put({ hw: 'x'.repeat(129) });
    expect(long.status).toBe(400);
    expect(JSON.parse(long.text).errorCode).toBe(
      'hawkbit.server.error.repo.invalidTargetAttributes',
    );
  });
});

describe('authentication and routing', () => {
  it('lets in a target token, the gateway key, and nothing else', async () => {
    const target = await service.createTarget({ controllerId: 'dev-11' });
    const as = (authorization?: string) =>
      authenticate(auth, exchange('GET', '/', authorization ? { authorization } : {}).req, target);
    expect(as(`TargetToken ${target.securityToken}`)).toBe('target');
    expect(as('TargetToken nope')).toBeUndefined();
    expect(as('GatewayToken gw')).toBe('gateway');
    expect(as('GatewayToken gw2')).toBeUndefined();
    expect(as()).toBeUndefined();
    expect(authenticate({ ...auth, anonymous: true }, exchange('GET', '/').req, target)).toBe(
      'anonymous',
    );
  });

  it('routes every DDI resource, with its methods, and nothing else', () => {
    const router = createDdiRouter();
    const route = (path: string) => router.find('GET', path)?.store as DdiRoute | undefined;
    expect(route('/dev')?.methods).toEqual(['GET']);
    expect(route('/dev/deploymentBase/12/feedback')?.methods).toEqual(['POST']);
    expect(route('/dev/confirmationBase/activateAutoConfirm')?.allow).toBe('POST');
    expect(route('/dev/confirmationBase/12')?.methods).toEqual(['GET']);
    expect(route('/dev/softwaremodules/3/artifacts/a.bin')?.allow).toBe('GET, HEAD');
    expect(route('/dev/softwaremodules/3/artifacts/a.bin')?.json).toBe(false);
    expect(route(`/${'d'.repeat(256)}/installedBase`)?.methods).toEqual(['PUT']);
    expect(route('/dev/')).toBeUndefined();
    expect(route('/dev/nothing')).toBeUndefined();
    expect(router.find('GET', '/dev/deploymentBase/12')?.params).toMatchObject({ actionId: '12' });
  });

  it('reads ids as DDI does: positive safe integers only', () => {
    expect(idOf('12')).toBe(12);
    expect(idOf('0')).toBeUndefined();
    expect(idOf('-1')).toBeUndefined();
    expect(idOf('1e3')).toBeUndefined();
    expect(idOf('99999999999999999')).toBeUndefined();
    expect(idOf(undefined)).toBeUndefined();
  });

  it('answers an unexpected failure with hawkBit 500, and a cut body by closing', async () => {
    const x = exchange('GET', '/');
    answerFailure(server.logger, x.req, x.res, new Error('boom'));
    const answer = await x.answer;
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text).errorCode).toBe('hawkbit.server.error.unknown');
    const cut = exchange('POST', '/');
    answerFailure(server.logger, cut.req, cut.res, new DdiError('BODY_ABORTED', 'gone'));
    expect(cut.res.destroyed).toBe(true);
  });
});
