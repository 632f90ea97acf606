import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import type { BackendConfigInput } from '../../src/config.js';
import type { Backend } from '../../src/server.js';
import { AUTH, call, startTestBackend } from '../helpers.js';

/**
 * One seed for every surface, so a failure is replayed with `FUZZ_SEED=<seed> pnpm test`; fast-check
 * prints the seed and the shrunk counterexample's path with it.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 15_015);
/** Runs per surface: enough to reach every route with bad input, few enough for 2 cores. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** A request that holds the event loop longer than this stalls every device on the server. */
export const MAX_STALL_MS = 100;

export function fuzzParameters<T>(runs = FUZZ_RUNS): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: runs, endOnFailure: false, verbose: 1 };
}

// ------------------------------------------------------------------ the server under test

export interface Seeded {
  backend: Backend;
  moduleId: number;
  setId: number;
  artifactId: number;
  filename: string;
  bytes: Buffer;
  /** Devices with an active action each: [controllerId, actionId]. */
  actions: Array<[string, number]>;
  controllerIds: string[];
}

/**
 * A backend with something to break: targets (one with a 256-character id, the length the
 * wildcard stall needed), a module with an artifact, a set, and actions running, waiting for
 * confirmation and canceling.
 */
export async function startFuzzBackend(
  overrides: Partial<BackendConfigInput> = {},
): Promise<Seeded> {
  const backend = await startTestBackend(overrides);
  const long = `${'a'.repeat(255)}b`;
  const controllerIds = ['fz-1', 'fz-2', 'fz-3', 'fz-4', long];
  await call(
    backend,
    'POST',
    '/rest/v1/targets',
    controllerIds.map((controllerId) => ({ controllerId })),
  );
  const sm = await call(backend, 'POST', '/rest/v1/softwaremodules', [
    { name: 'fuzz', version: '1.0.0', type: 'os' },
  ]);
  const moduleId = sm.json[0].id as number;
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256));
  const filename = 'fuzz-image.swu';
  const form = new FormData();
  form.append('file', new Blob([bytes]), filename);
  const upload = await fetch(`${backend.url}/rest/v1/softwaremodules/${moduleId}/artifacts`, {
    method: 'POST',
    headers: { Authorization: AUTH, Accept: 'application/json' },
    body: form,
  });
  if (upload.status !== 201) throw new Error(`seed upload answered ${upload.status}`);
  const artifactId = ((await upload.json()) as { id: number }).id;
  const ds = await call(backend, 'POST', '/rest/v1/distributionsets', [
    { name: 'fuzz', version: '1.0.0', type: 'os', modules: [{ id: moduleId }] },
  ]);
  const setId = ds.json[0].id as number;
  const assigned = await call(
    backend,
    'POST',
    `/rest/v1/distributionsets/${setId}/assignedTargets`,
    [
      { id: 'fz-1', type: 'forced' },
      { id: 'fz-2', type: 'soft', confirmationRequired: true },
      { id: 'fz-3', type: 'downloadonly' },
      { id: long, type: 'forced' },
    ],
  );
  if (assigned.status !== 200) throw new Error(`seed assignment answered ${assigned.status}`);
  const actions: Array<[string, number]> = [];
  for (const controllerId of ['fz-1', 'fz-2', 'fz-3', long]) {
    const [action] = await backend.service.listActions(controllerId);
    if (action) actions.push([controllerId, action.id]);
  }
  // One action asked to cancel, so the cancelAction resources have something to refuse.
  const canceling = actions.find(([id]) => id === 'fz-3');
  if (canceling) await backend.service.cancel(canceling[1], ['fuzz seed']);
  return { backend, moduleId, setId, artifactId, filename, bytes, actions, controllerIds };
}

/**
 * Everything stored that a refusal must leave alone: targets, their actions and histories,
 * modules (with their artifacts) and sets. `lastContactAt` is left out: a device's poll is
 * contact even when the resource it asked for does not exist, as in hawkBit.
 */
export async function snapshot(backend: Backend): Promise<string> {
  const { service } = backend;
  const targets = (await service.listTargets({ limit: 100_000 })).items;
  const state = [];
  for (const { lastContactAt: _, ...target } of targets) {
    const actions = [];
    for (const action of await service.listActions(target.controllerId))
      actions.push({ action, history: await service.getActionHistory(action.id) });
    state.push({ target, actions });
  }
  return JSON.stringify({
    targets: state,
    modules: (await service.listSoftwareModules({ limit: 100_000 })).items,
    sets: (await service.listDistributionSets({ limit: 100_000 })).items,
  });
}

// ------------------------------------------------------------------ event-loop stalls

/**
 * The longest event-loop delay since the last `reset`, measured in this process, which is also
 * the server's (the backend runs in the test's process): a synchronous stall anywhere in a
 * request's handling shows here.
 */
export class StallMeter {
  readonly #histogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#histogram.enable();
  }

  reset(): void {
    this.#histogram.reset();
  }

  /** Milliseconds; 0 before the first sample. */
  maxMs(): number {
    const max = this.#histogram.max;
    // An empty histogram reports a huge sentinel as its max.
    return this.#histogram.count === 0 || !Number.isFinite(max) ? 0 : max / 1e6;
  }

  stop(): void {
    this.#histogram.disable();
  }
}

// ------------------------------------------------------------------ raw HTTP

export interface RawRequest {
  method: string;
  /** The request target exactly as sent: raw UTF-8, dots and bad escapes are not normalised. */
  target: string;
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer | string;
}

export interface RawAnswer {
  /** 0 when the connection closed without an answer. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One request on its own connection, written byte for byte: fetch and node's client refuse or
 * normalise exactly the paths and methods a fuzzer wants to send (`..`, raw unicode, odd methods).
 */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 15_000) {
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms: ${request.method} ${request.target}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks), request.method === 'HEAD'));
    });
    const body =
      request.body === undefined
        ? undefined
        : typeof request.body === 'string'
          ? Buffer.from(request.body, 'utf8')
          : request.body;
    let head = `${request.method} ${request.target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
    for (const [name, value] of request.headers ?? []) head += `${name}: ${value}\r\n`;
    if (body !== undefined) head += `Content-Length: ${body.length}\r\n`;
    // write, not end: node's server drops a half-closed client's request before it answers.
    socket.write(body ? Buffer.concat([Buffer.from(`${head}\r\n`, 'utf8'), body]) : `${head}\r\n`);
  });
}

function parseAnswer(raw: Buffer, head: boolean): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: Buffer.alloc(0) };
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = head ? Buffer.alloc(0) : raw.subarray(end + 4);
  if (!head && headers['transfer-encoding']?.toLowerCase() === 'chunked') body = unchunk(body);
  return { status, headers, body };
}

function unchunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------ arbitraries

/** Path segments a parser may choke on: bad and odd escapes, dots, unicode, very long ones. */
export const nastySegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%ZZ',
    '%',
    '%2',
    '%00',
    '%0a',
    '%1b',
    '%2F',
    '%2e',
    '%2e%2e',
    '.',
    '..',
    '...',
    '%C0%AE',
    '%E2%82',
    '%FF%FE',
    '~',
    '+',
    ';',
    ':id',
    '*',
    '**',
    'ä',
    '🚀',
    '\u202e',
    '0',
    '-1',
    '1e3',
    '9007199254740993',
    '99999999999999999999999',
    'NaN',
    '0x10',
    ' 1',
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }).map(encodeLoosely),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).map((s) => encodeURIComponent(s)),
  fc
    .record({
      c: fc.constantFrom('a', 'é', '%41', '.', '%'),
      n: fc.integer({ min: 200, max: 5000 }),
    })
    .map(({ c, n }) => c.repeat(n)),
);

/**
 * Escapes what would break the request line (space, controls, `?`, `#`, `/`) and leaves the rest
 * raw, unicode included, as a careless client would send it.
 */
export function encodeLoosely(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += code <= 0x20 || code === 0x7f || '?#/%'.includes(ch) ? encodeURIComponent(ch) : ch;
  }
  return out;
}

export const methodArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('HEAD', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'X-FUZZ'),
  },
);

export const acceptArb = fc.constantFrom(
  undefined,
  '',
  '*/*',
  'application/json',
  'application/hal+json',
  'application/hal+json;q=0.1, application/json;q=0.9',
  'text/html',
  'application/octet-stream',
  'application/json;q=0',
  'application/*',
  ',,,;;;q=abc',
  'application/json; charset=utf-16',
  'x/'.repeat(2000),
);

export const contentTypeArb = fc.constantFrom(
  undefined,
  '',
  'application/json',
  'application/json; charset=utf-8',
  'application/hal+json',
  'APPLICATION/JSON',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'multipart/form-data; boundary=XyZ',
  'application/x-www-form-urlencoded',
  'application/json;;;;',
  'application/vnd.api+json',
);

export const rangeArb = fc.oneof(
  fc.constantFrom(
    undefined,
    'bytes=0-0',
    'bytes=0-',
    'bytes=-1',
    'bytes=-0',
    'bytes=100-50',
    'bytes=0-1,2-3',
    'bytes=0-99999999999999999999',
    'bytes=abc',
    'bytes=',
    'items=0-1',
    'bytes=4095-',
    'bytes=4096-',
    `bytes=${'0-1,'.repeat(500)}0-1`,
  ),
  fc
    .tuple(fc.integer({ min: -10, max: 5000 }), fc.integer({ min: -10, max: 5000 }))
    .map(([a, b]) => `bytes=${a}-${b}`),
);

/** JSON numbers no double holds, written as text so that they reach the parser as such. */
const hugeNumber = fc.constantFrom(
  '1e309',
  '-1e309',
  '18446744073709551616',
  '9007199254740993',
  '-0',
  '0.0000000000000000000001',
  '1E400',
);

/** Bodies: JSON of every shape, wrong types, huge numbers, deep nesting, and not JSON at all. */
export const bodyArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: hugeNumber },
  { weight: 1, arbitrary: hugeNumber.map((n) => `[{"id":${n},"controllerId":${n}}]`) },
  {
    weight: 1,
    arbitrary: fc
      .record({ open: fc.constantFrom('[', '{"a":'), n: fc.integer({ min: 100, max: 100_000 }) })
      .map(({ open, n }) => open.repeat(n)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', 'null', '{', '[]', '{}', '"x"', 'true', '\u0000', '\ufeff{}'),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
);

/** hawkBit's query language: fields, operators, values with wildcards, groups, garbage. */
export const rsqlArb: fc.Arbitrary<string> = fc.letrec<{ q: string; term: string }>((tie) => ({
  term: fc
    .tuple(
      fc.constantFrom(
        'controllerId',
        'name',
        'id',
        'updateStatus',
        'attribute.x',
        'assignedDS.name',
        'version',
        'type',
        'nope',
        'a.b.c.d',
        '',
      ),
      fc.constantFrom('==', '!=', '=lt=', '=le=', '=gt=', '=ge=', '=in=', '=out=', '=like=', '='),
      fc.oneof(
        fc.constantFrom(
          '*a*a*a*a*b',
          '*a*a*a*a*a*b',
          '*',
          '**',
          'fz-1',
          '(a,b)',
          '()',
          '"quoted"',
          "'x'",
          '"unterminated',
          '1e309',
          'pending',
          `${'*a'.repeat(50)}*b`,
        ),
        fc.string({ maxLength: 10 }),
      ),
    )
    .map(([field, op, value]) => `${field}${op}${value}`),
  q: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('term'),
    fc
      .tuple(tie('q'), fc.constantFrom(';', ',', ' and ', ' or ', ';;'), tie('q'))
      .map((p) => p.join('')),
    tie('q').map((q) => `(${q})`),
  ),
})).q;

export const queryArb: fc.Arbitrary<string> = fc
  .record(
    {
      q: fc.oneof(
        rsqlArb,
        fc.integer({ min: 1, max: 6000 }).map((n) => `${'('.repeat(n)}id==1${')'.repeat(n)}`),
        fc.integer({ min: 1, max: 6000 }).map((n) => '('.repeat(n)),
      ),
      sort: fc.constantFrom(
        'id:ASC',
        'name:DESC',
        'controllerId',
        'nope:UP',
        ':',
        'id:ASC,name:DESC',
        '',
      ),
      offset: fc.oneof(
        fc.integer({ min: -5, max: 100 }).map(String),
        fc.constantFrom('1e309', 'x', ''),
      ),
      limit: fc.oneof(
        fc.integer({ min: -5, max: 1000 }).map(String),
        fc.constantFrom('99999999999999999999', '0', 'NaN', ''),
      ),
    },
    { requiredKeys: [] },
  )
  .map((params) =>
    Object.entries(params)
      .map(([key, value]) => `${key}=${encodeLoosely(value)}`)
      .join('&'),
  );

/** Authorization: mostly right, sometimes wrong or malformed. */
export const authArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant(AUTH) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      undefined,
      'Basic',
      'Basic !!!',
      `Basic ${Buffer.from('admin:wrong').toString('base64')}`,
      `Basic ${Buffer.from('admin').toString('base64')}`,
      'Bearer x',
      'TargetToken abc',
      'GatewayToken abc',
      `Basic ${'A'.repeat(10_000)}`,
    ),
  },
);

/** Header pairs, dropping the undefined ones. */
export function headerList(
  headers: Record<string, string | undefined>,
): Array<readonly [string, string]> {
  return Object.entries(headers).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
}

/** A failed answer's description for a property's message. */
export function describeExchange(request: RawRequest, answer: RawAnswer): string {
  const target =
    request.target.length > 300 ? `${request.target.slice(0, 300)}...` : request.target;
  return `${request.method} ${target} -> ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`;
}

// ------------------------------------------------------------------ the property

/** Answers by status over the file's runs, to see that the fuzzer gets past the front door. */
export const tally = new Map<number, number>();

/** `FUZZ_TALLY=1` prints the tally: `management: 200×41 400×97 ...`. */
export function printTally(surface: string): void {
  if (!process.env.FUZZ_TALLY) return;
  const counts = [...tally].sort(([a], [b]) => a - b).map(([s, n]) => `${s}x${n}`);
  console.info(`${surface}: ${counts.join(' ')}`);
}

/**
 * Sends one request and checks what every surface owes: an answer, never a 5xx, no event-loop
 * stall over `MAX_STALL_MS`, and, when `refused(answer)` says the request was turned down, no
 * stored state changed. Returns the answer for surface-specific checks.
 */
export async function checkRequest(
  backend: Backend,
  meter: StallMeter,
  request: RawRequest,
  refused: (answer: RawAnswer) => boolean = (answer) => answer.status >= 400,
): Promise<RawAnswer> {
  const before = await snapshot(backend);
  meter.reset();
  const answer = await rawRequest(backend.port, request);
  const stallMs = meter.maxMs();
  tally.set(answer.status, (tally.get(answer.status) ?? 0) + 1);
  if (process.env.FUZZ_TRACE) console.info(describeExchange(request, answer));
  const what = describeExchange(request, answer);
  if (answer.status === 0) throw new Error(`no answer: ${what}`);
  if (answer.status >= 500) throw new Error(`server error: ${what}`);
  if (refused(answer)) {
    const after = await snapshot(backend);
    if (after !== before) throw new Error(`state changed behind a refusal: ${what}`);
  }
  if (stallMs > MAX_STALL_MS) {
    // Two cores shared with other work: the process can be descheduled, or a GC can run, for
    // longer than the limit. A request that stalls the loop itself does so every time it is sent.
    let least = stallMs;
    for (let attempt = 0; attempt < 2 && least > MAX_STALL_MS; attempt++) {
      meter.reset();
      await rawRequest(backend.port, request);
      least = Math.min(least, meter.maxMs());
    }
    if (least > MAX_STALL_MS)
      throw new Error(`event loop stalled ${least.toFixed(0)} ms (3 times): ${what}`);
  }
  return answer;
}
