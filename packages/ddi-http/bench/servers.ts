/**
 * The benchmark's server process (forked by run.ts): the DDI handler and the bare node:http
 * baseline, each on its own 127.0.0.1 port, side by side in one process so both meet the same
 * machine. The client lives in the parent, so `process.cpuUsage()` here is the servers' own CPU.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveBenchChild } from '@otaflow/bench-kit';
import { MemoryUpdateStore, UpdateService } from '@otaflow/core';
import { createDdiServer, FileArtifactSource } from '../src/index.js';
import { CONTROLLERS, cid, FILE_MB, GATEWAY, rootBody, type ServerOp, SLEEP } from './shared.js';

async function listen(handler: RequestListener) {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'ddi-bench-'));
  const service = new UpdateService({ store: new MemoryUpdateStore() });
  const files = new FileArtifactSource(dir);
  const ddi = createDdiServer({
    service,
    tenant: 'DEFAULT',
    artifacts: files,
    auth: { targetToken: true, gatewayToken: GATEWAY },
    autoRegister: true,
    pollingSleep: SLEEP,
    // The whole bench fleet registers from one address; the per-client cap would refuse it.
    registrationLimit: false,
  });
  const ddiServer = await listen((req, res) => {
    void ddi.handle(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });

  // The bare server answers exactly the bytes the DDI server sends (run.ts checks it does).
  const filePath = join(dir, 'bare.bin');
  let bareFileSize = 0;
  let bareOrigin = '';
  const bare = await listen((req, res) => {
    const url = req.url ?? '';
    if (url === '/file') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bareFileSize,
      });
      createReadStream(filePath).pipe(res);
      return;
    }
    if (req.method === 'POST') {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-length': 0 }).end());
      return;
    }
    const body = rootBody(url.split('/')[4] ?? '', bareOrigin);
    res.writeHead(200, {
      'content-type': 'application/hal+json;charset=UTF-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  bareOrigin = bare.origin;

  let moduleId = 0;
  const answer = async (op: ServerOp): Promise<unknown> => {
    switch (op) {
      case 'cpu': {
        const { user, system } = process.cpuUsage();
        return { cpuMicros: user + system, systemMicros: system };
      }
      case 'assign': {
        const module = await service.createSoftwareModule({ type: 'os', name: 'fw', version: '1' });
        moduleId = module.id;
        const set = await service.createDistributionSet({
          name: 'fw',
          version: '1',
          modules: [module.id],
        });
        const { actions } = await service.assign(
          set.id,
          Array.from({ length: CONTROLLERS }, (_, i) => ({ controllerId: cid(i) })),
        );
        return { actions: actions.map((a) => [a.controllerId, a.id]) };
      }
      case 'artifact': {
        const chunk = createHash('sha512').update('otaflow').digest();
        const big = Buffer.alloc(FILE_MB * 1024 * 1024);
        for (let o = 0; o < big.length; o += chunk.length) chunk.copy(big, o);
        await writeFile(filePath, big);
        bareFileSize = big.length;
        const info = await files.write(moduleId, 'big.bin', big);
        await service.addArtifact(moduleId, {
          filename: 'big.bin',
          size: info.size,
          hashes: { sha1: info.hashes.sha1, md5: info.hashes.md5, sha256: info.hashes.sha256! },
        });
        return { moduleId, size: big.length };
      }
      case 'close': {
        for (const { server } of [ddiServer, bare]) {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
        }
        await rm(dir, { recursive: true, force: true });
        return {};
      }
    }
  };
  serveBenchChild({ ddi: ddiServer.origin, bare: bare.origin }, answer, (op) => op === 'close');
}

await main();
