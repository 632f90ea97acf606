import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createHuaweiReceiverServer,
  HUAWEI_SUB_OPERATION_REF,
  notificationKey,
  operationRef,
  subOperationRef,
} from '../src/index.js';
import { setup } from './helpers.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One push over a keep-alive agent, keeping the answer's exact bytes and headers. */
function rawPost(url: string, body: string, agent: http.Agent): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the answer on the wire', () => {
  it('is compact JSON with a Content-Length, never chunked, on a kept-alive connection', async () => {
    const { service, set } = await setup({ deviceIds: ['dev/1'] });
    const { actions } = await service.assign(set.id, [{ controllerId: 'dev/1' }]);
    const actionId = actions[0]!.id;
    await service.setActionRef(
      actionId,
      HUAWEI_SUB_OPERATION_REF,
      subOperationRef('dev/1', 'op 1', 'sub-1'),
    );
    const server = await createHuaweiReceiverServer({ service, matchWaitMs: 0 });
    closers.push(() => server.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    closers.push(async () => agent.destroy());
    const ids = { deviceId: 'dev/1', appId: 'app', operationId: 'op 1', subOperationId: 'sub-1' };
    const push = (extra: Record<string, unknown>) =>
      rawPost(server.url, JSON.stringify({ ...ids, ...extra }), agent);
    const state = { notifyType: 'swUpgradeStateChangeNotify', swUpgradeState: 'downloading' };

    const applied = await push(state);
    expect(applied.status).toBe(200);
    expect(applied.text).toBe(JSON.stringify({ result: 'applied', actionId }));
    expect(applied.headers['content-type']).toBe('application/json');
    expect(applied.headers['content-length']).toBe(String(Buffer.byteLength(applied.text)));
    expect(applied.headers['transfer-encoding']).toBeUndefined();
    expect(applied.headers.connection).toBe('keep-alive');

    const duplicate = await push(state);
    expect(duplicate.text).toBe(JSON.stringify({ result: 'duplicate' }));
    expect(duplicate.headers['content-length']).toBe(String(duplicate.text.length));

    await push({ notifyType: 'swUpgradeResultNotify', swUpgradeResult: 'SUCCESS' });
    const refused = await push({
      notifyType: 'swUpgradeStateChangeNotify',
      swUpgradeState: 'updating',
    });
    const refusedBody = JSON.parse(refused.text) as Record<string, unknown>;
    expect(Object.keys(refusedBody)).toEqual(['result', 'actionId', 'reason']);
    expect(refusedBody).toMatchObject({ result: 'refused', actionId });
    expect(refused.text).toBe(JSON.stringify(refusedBody));

    // A reason with quotes and non-ASCII text is escaped and counted in bytes, not characters.
    const ignored = await push({ ...state, operationId: 'op "2" é' });
    const ignoredBody = JSON.parse(ignored.text) as Record<string, unknown>;
    expect(Object.keys(ignoredBody)).toEqual(['result', 'reason']);
    expect(ignoredBody.reason).toContain('op "2" é');
    expect(ignored.headers['content-length']).toBe(String(Buffer.byteLength(ignored.text)));
  });
});

describe('ref and key formats', () => {
  it('keeps the URI-encoded, slash-joined refs and de-duplication key', () => {
    expect(subOperationRef('a/b', 'op 1', 'x%')).toBe('a%2Fb/op%201/x%25');
    expect(operationRef('a/b', 'op 1')).toBe('a%2Fb/op%201');
    const notification = {
      notifyType: 'fwUpgradeStateChangeNotify' as const,
      deviceId: 'd/1',
      appId: 'a',
      operationId: 'o',
      subOperationId: 's 1',
      step: '2',
    };
    expect(notificationKey(notification)).toBe('fwUpgradeStateChangeNotify/d%2F1/o/s%201/2');
  });
});
