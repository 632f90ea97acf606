/**
 * The router decision, measured: the DDI root poll's shape (`GET /{tenant}/controller/v1/{id}`,
 * 10,000 controllers, answers built once and looked up) behind
 * - bare node:http that splits the URL (the baseline),
 * - find-my-way's `lookup`, with the same handler writing to node's response,
 * - Hono on @hono/node-server, the handler returning `c.body(...)`,
 * each router holding the backend's other routes too, so that it searches a tree of real size.
 * Same client, process layout and interleaved rounds as run.ts; writes routers-result.json.
 *
 *   pnpm exec tsx --conditions=@otaflow/source bench/routers.ts
 */
import {
  type BenchServer,
  compare,
  expectSameAnswer,
  type Figure,
  figuresOf,
  load,
  REQUESTS,
  type Req,
  ROUNDS,
  startServer,
  writeResult,
} from './harness.js';
import { CONTROLLERS, cid, TENANT } from './shared.js';

const poll = (i: number): Req => ({
  path: `/${TENANT}/controller/v1/${cid(i)}`,
  method: 'GET',
  headers: { accept: 'application/hal+json' },
});

const started = Date.now();
const servers: BenchServer[] = [];
try {
  const bare = await startServer('bare');
  servers.push(bare);
  const figures: Figure[] = [];
  for (const kind of ['find-my-way', 'hono'] as const) {
    const router = await startServer(kind);
    servers.push(router);
    // Hono writes header names in lower case and its own order; the bytes differ only there.
    for (const i of [0, CONTROLLERS - 1])
      await expectSameAnswer(router, bare, poll(i), kind === 'hono');
    // Fills both servers' answer caches, so no round pays for building them.
    await load(router, CONTROLLERS, poll, 200);
    await load(bare, CONTROLLERS, poll, 200);
    const m = await compare(
      `${kind} root polls`,
      ROUNDS,
      () => load(bare, REQUESTS, poll, 200),
      () => load(router, REQUESTS, poll, 200),
    );
    figures.push(...figuresOf(`${kind}: root-poll shape per second`, null, m));
  }
  await writeResult(
    new URL('./routers-result.json', import.meta.url),
    '@otaflow/backend routers',
    figures,
  );
  console.log(
    `\nmedian of ${ROUNDS} rounds' ratios to bare node:http. took ${((Date.now() - started) / 1000).toFixed(1)} s; written bench/routers-result.json`,
  );
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
