/**
 * The whole backend's DDI edge, all over loopback (127.0.0.1), bounded in requests and time:
 * - root polls/s of 10,000 distinct controllers (`GET /DEFAULT/controller/v1/{id}`, anonymous
 *   DDI, each controller registered by its first poll);
 * - feedback posts/s of the same controllers: `proceeding` on their open action, which leaves it
 *   open, so every round posts the same feedback again;
 * each against a bare node:http server answering the same bytes (checked before measuring: status,
 * headers, body; only Date and the keep-alive headers node:http adds by itself may differ).
 *
 * The backend is `startBackend` as main.ts starts it (memory store, embedded MQTT broker, log level
 * silent, no AMQP), and it and the bare server each run in a forked process of their own
 * (servers.ts); this process is only the client: @otaflow/bench-kit's raw keep-alive LoadClient, so
 * that the servers rather than the client run out of CPU. Rounds alternate the order (bare,
 * backend, backend, bare, ...) after an unmeasured warm-up of each; the median round's ratio counts.
 * Besides requests per second, each server process's CPU time per request is recorded: it hardly
 * moves with the load other programs put on a shared machine.
 *
 * - root polls again with the backend on PGlite and on PostgreSQL (`db-polls`): a poll of a target
 *   whose state did not change must cost no database round trip (the poll cache, kept right by
 *   the database's change notifications).
 *
 * - a million targets on PostgreSQL behind two backend processes (`scale`, scale.ts: bulk creation,
 *   then polls at a 5-minute interval's rate, open-loop), written to bench/scale-result.json.
 *
 * Env: BENCH_ONLY=polls,feedback,db-polls,rollout,scale picks phases; BENCH_ROUNDS=n measures n rounds (5); BENCH_SERVER_PROF=<dir> runs the server processes
 * with --cpu-prof into <dir>.
 */

import {
  CONCURRENCY,
  compare,
  expectSameAnswer,
  type Figure,
  figuresOf,
  load,
  log,
  REQUESTS,
  type Req,
  ROUNDS,
  startServer,
  writeResult,
} from './harness.js';
import { benchRollout } from './rollout.js';
import { benchScale } from './scale.js';
import { CONTROLLERS, cid, FEEDBACK, TENANT } from './shared.js';

const ONLY = new Set(
  (process.env.BENCH_ONLY ?? 'polls,feedback,db-polls,rollout,scale').split(','),
);
const HEADERS = { accept: 'application/hal+json' };
const poll = (i: number): Req => ({
  path: `/${TENANT}/controller/v1/${cid(i)}`,
  method: 'GET',
  headers: HEADERS,
});

const started = Date.now();
// In process and before the servers start, so that it has the cores to itself.
const rolloutFigures = ONLY.has('rollout') ? await benchRollout() : [];
// Its own processes and its own result file (BENCH_SCALE_TARGETS and siblings size it).
if (ONLY.has('scale')) await benchScale();
if (ONLY.has('scale') && ONLY.size === 1) process.exit(0);
if (![...ONLY].some((phase) => phase !== 'rollout' && phase !== 'scale')) {
  await writeResult(new URL('./result.json', import.meta.url), '@otaflow/backend', rolloutFigures);
  process.exit(0);
}
const backend = await startServer('backend');
const bare = await startServer('bare');
try {
  log(`${CONCURRENCY} connections, ${REQUESTS} requests a round, ${ROUNDS} rounds`);
  log(`registering ${CONTROLLERS} controllers by polling`);
  await load(backend, CONTROLLERS, poll, 200);
  for (const i of [0, 1, CONTROLLERS - 1]) await expectSameAnswer(backend, bare, poll(i));

  const figures: Figure[] = [...rolloutFigures];
  if (ONLY.has('polls')) {
    const m = await compare(
      'root polls',
      ROUNDS,
      () => load(bare, REQUESTS, poll, 200),
      () => load(backend, REQUESTS, poll, 200),
    );
    figures.push(...figuresOf('DDI root polls per second (10,000 controllers)', 0.6, m));
  }

  if (ONLY.has('feedback')) {
    log(`assigning an update to ${CONTROLLERS} controllers`);
    const { actions } = await backend.ask<{ actions: [string, number][] }>('assign');
    const actionOf = new Map(actions);
    const headers = { ...HEADERS, 'content-type': 'application/json' };
    const post = (i: number): Req => ({
      path: `/${TENANT}/controller/v1/${cid(i)}/deploymentBase/${actionOf.get(cid(i))}/feedback`,
      method: 'POST',
      body: FEEDBACK,
      headers,
    });
    for (const i of [0, CONTROLLERS - 1]) await expectSameAnswer(backend, bare, post(i));
    const m = await compare(
      'feedback posts',
      ROUNDS,
      () => load(bare, REQUESTS, post, 200),
      () => load(backend, REQUESTS, post, 200),
    );
    figures.push(...figuresOf('DDI feedback posts per second (10,000 controllers)', 0.6, m));
  }

  if (ONLY.has('db-polls')) {
    for (const [kind, label] of [
      ['backend-pglite', 'PGlite'],
      ['backend-postgres', 'PostgreSQL'],
    ] as const) {
      log(`starting the backend on ${label}`);
      const durable = await startServer(kind);
      try {
        await load(durable, CONTROLLERS, poll, 200);
        for (const i of [0, 1, CONTROLLERS - 1]) await expectSameAnswer(durable, bare, poll(i));
        const m = await compare(
          `root polls (${label})`,
          ROUNDS,
          () => load(bare, REQUESTS, poll, 200),
          () => load(durable, REQUESTS, poll, 200),
        );
        figures.push(
          ...figuresOf(`DDI root polls per second, ${label} store (10,000 controllers)`, 0.5, m),
        );
      } finally {
        await durable.stop();
      }
    }
  }

  // Throughput first, then the CPU twins, as the other packages' results list them.
  const ordered = [
    ...figures.filter((f) => f.goal !== null),
    ...figures.filter((f) => f.goal === null),
  ];
  await writeResult(new URL('./result.json', import.meta.url), '@otaflow/backend', ordered);
  console.log(
    `\nmedian of ${ROUNDS} rounds' ratios; server CPU ratio = bare/backend. bench took ${((Date.now() - started) / 1000).toFixed(1)} s; written bench/result.json`,
  );
} finally {
  await Promise.all([backend.stop(), bare.stop()]);
}
