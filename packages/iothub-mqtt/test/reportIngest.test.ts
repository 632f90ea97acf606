import { INSTALLED_REPORT_REF } from '@otaflow/core';
import { describe, expect, it } from 'vitest';
import {
  ACKNOWLEDGED_REF,
  defaultThingIdOf,
  FEATURE_ID_ATTRIBUTE,
  featurePath,
  MODULE_TYPE_ATTRIBUTE,
  ReportIngest,
  softwareUpdatableFeature,
  statusPropertyPath,
  twinModify,
} from '../src/index.js';
import { assignedWithCorrelation, collectingLogger } from './helpers.js';

const LAST_OPERATION = statusPropertyPath('SoftwareUpdatable', 'lastOperation');
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const modify = (deviceId: string, path: string, value: unknown) =>
  bytes(twinModify({ thingId: defaultThingIdOf(deviceId), path, value }));

/** Report ingest called directly: no broker, the same core calls the Commander makes. */
async function setup() {
  const { service, actions } = await assignedWithCorrelation(['d1', 'd2'], (i) => `corr-${i}`);
  const announced: string[] = [];
  const log = collectingLogger();
  const ingest = new ReportIngest({
    service,
    thingIdOf: defaultThingIdOf,
    onAnnounced: (deviceId) => announced.push(deviceId),
    log,
  });
  return { service, actions, ingest, announced, log };
}

describe('ReportIngest', () => {
  it('applies lastOperation reports through core and records the acknowledgement once', async () => {
    const { service, actions, ingest } = await setup();
    const actionId = actions[0]?.id as number;
    const downloading = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, {
        correlationId: 'corr-0',
        status: 'DOWNLOADING',
        progress: 40,
      }),
    );
    expect(downloading).toEqual({
      deviceId: 'd1',
      correlationId: 'corr-0',
      status: 'DOWNLOADING',
      result: 'applied',
      actionId,
    });
    const view = await service.getAction(actionId);
    expect(view?.status).toBe('DOWNLOAD');
    expect(view?.refs[ACKNOWLEDGED_REF]).toBe('install:corr-0');
    expect((await service.getActionHistory(actionId))?.at(-1)?.messages).toEqual([
      'DOWNLOADING 40%',
    ]);

    const done = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-0', status: 'FINISHED_SUCCESS' }),
    );
    expect(done.result).toBe('applied');
    expect((await service.getAction(actionId))?.status).toBe('FINISHED');
    const late = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-0', status: 'FINISHED_SUCCESS' }),
    );
    expect(late).toMatchObject({ result: 'refused', actionId });
    expect(late.reason).toMatch(/^ACTION_CLOSED/);
  });

  it('refuses another device’s correlationId and drops another thing’s twin', async () => {
    const { service, actions, ingest } = await setup();
    const before = await service.getActionHistory(actions[1]?.id as number);
    const foreign = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-1', status: 'FINISHED_SUCCESS' }),
    );
    expect(foreign).toMatchObject({ result: 'refused', reason: 'correlationId of another device' });
    const spoofed = await ingest.ingest(
      'd1',
      modify('d2', LAST_OPERATION, { correlationId: 'corr-1', status: 'FINISHED_SUCCESS' }),
    );
    expect(spoofed.result).toBe('dropped');
    expect(spoofed.reason).toMatch(/is not device d1's/);
    expect(await service.getActionHistory(actions[1]?.id as number)).toEqual(before);
  });

  it('drops what is not an envelope or not a lastOperation, ignores other paths and statuses', async () => {
    const { ingest } = await setup();
    expect((await ingest.ingest('d1', Buffer.from('{oops'))).result).toBe('dropped');
    const invalid = await ingest.ingest('d1', modify('d1', LAST_OPERATION, { progress: 5 }));
    expect(invalid.reason).toMatch(/^invalid lastOperation/);
    const other = await ingest.ingest(
      'd1',
      modify('d1', statusPropertyPath('SoftwareUpdatable', 'installedDependencies'), {}),
    );
    expect(other).toMatchObject({ result: 'ignored' });
    const unknown = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-0', status: 'SOMETHING_NEW' }),
    );
    expect(unknown).toMatchObject({ result: 'ignored', correlationId: 'corr-0' });
  });

  it('a lastOperation on a feature never announced as SoftwareUpdatable moves no action', async () => {
    const { service, actions, ingest } = await setup();
    const actionId = actions[0]?.id as number;
    const before = await service.getActionHistory(actionId);
    for (const featureId of ['Other', 'SoftwareUpdatable2']) {
      const outcome = await ingest.ingest(
        'd1',
        modify('d1', statusPropertyPath(featureId, 'lastOperation'), {
          correlationId: 'corr-0',
          status: 'FINISHED_SUCCESS',
        }),
      );
      expect(outcome).toMatchObject({
        result: 'ignored',
        correlationId: 'corr-0',
        reason: `feature ${featureId} was not announced as SoftwareUpdatable`,
      });
    }
    // A device that never announced at all: nothing of its reports counts either.
    await service.createTarget({ controllerId: 'silent' });
    const silent = await ingest.ingest(
      'silent',
      modify('silent', LAST_OPERATION, { correlationId: 'corr-0', status: 'FINISHED_SUCCESS' }),
    );
    expect(silent.result).toBe('ignored');
    const view = await service.getAction(actionId);
    expect(view?.status).toBe('RUNNING');
    expect(view?.active).toBe(true);
    expect(await service.getActionHistory(actionId)).toEqual(before);
    // The announced feature still works.
    const done = await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-0', status: 'FINISHED_SUCCESS' }),
    );
    expect(done.result).toBe('applied');
  });

  it('an announcement after the restart that lists the new modules confirms the finished update', async () => {
    const { service, actions, ingest } = await setup();
    const actionId = actions[0]?.id as number;
    await ingest.ingest(
      'd1',
      modify('d1', LAST_OPERATION, { correlationId: 'corr-0', status: 'FINISHED_SUCCESS' }),
    );
    const announce = (version: string) =>
      ingest.ingest(
        'd1',
        modify(
          'd1',
          featurePath('SoftwareUpdatable'),
          softwareUpdatableFeature({
            softwareModuleType: 'application',
            installedDependencies: { app: { group: 'g', name: 'app', version } },
          }),
        ),
      );
    // Still the old version after the restart: nothing is confirmed.
    await announce('0.9.0');
    expect((await service.getAction(actionId))?.refs[INSTALLED_REPORT_REF]).toBeUndefined();
    await announce('1.0.0');
    expect((await service.getAction(actionId))?.refs[INSTALLED_REPORT_REF]).toBeDefined();
    const installed = await service.pageActions({
      filter: { kind: 'cmp', field: 'installedReported', op: '==', values: ['true'] },
      limit: 0,
    });
    expect(installed.total).toBe(1);
  });

  it('a feature announcement registers the device and keeps its feature id and type', async () => {
    const { service, ingest, announced } = await setup();
    const outcome = await ingest.ingest(
      'fresh',
      modify(
        'fresh',
        featurePath('Updates'),
        softwareUpdatableFeature({ softwareModuleType: 'fw' }),
      ),
    );
    expect(outcome).toEqual({ deviceId: 'fresh', result: 'registered' });
    const target = await service.getTarget('fresh');
    expect(target?.channel).toBe('mqtt');
    expect(target?.attributes[FEATURE_ID_ATTRIBUTE]).toBe('Updates');
    expect(target?.attributes[MODULE_TYPE_ATTRIBUTE]).toBe('fw');
    expect(announced).toEqual(['fresh']);
    const notSuv2 = await ingest.ingest('fresh', modify('fresh', featurePath('Other'), { x: 1 }));
    expect(notSuv2.result).toBe('ignored');
    expect(announced).toEqual(['fresh']);
  });
});
