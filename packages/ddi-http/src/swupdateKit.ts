import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A kit to exercise a DDI server with the real SWUpdate suricatta client: a newc archive writer, a
 * signed `.swu` builder (openssl CLI) and a runner for `swupdate -u` in dry-run mode. otaflow's own
 * interop tests use it; so can anyone who wants to check a hawkBit-compatible server.
 */

/** A newc (`070701`) cpio archive, the format SWUpdate reads, without needing `cpio`. */
export function newcArchive(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const mtime = Math.floor(Date.now() / 1000);
  let ino = 1;
  for (const { name, data } of [...entries, { name: 'TRAILER!!!', data: Buffer.alloc(0) }]) {
    const trailer = name === 'TRAILER!!!';
    const fields = [
      trailer ? 0 : ino++,
      trailer ? 0 : 0o100644,
      0,
      0,
      1,
      trailer ? 0 : mtime,
      data.length,
      0,
      0,
      0,
      0,
      name.length + 1,
      0,
    ];
    const header = Buffer.from(`070701${fields.map(hex).join('')}${name}\0`, 'latin1');
    parts.push(header, pad4(header.length), data, pad4(data.length));
  }
  return Buffer.concat(parts);
}

/** A signed `.swu` (CMS, self-signed cert) with one raw image, for `swupdate -k cert.pem -H test:1.0`. */
export function buildSignedSwu(dir: string): { swu: Buffer; cert: string } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/O=SWUpdate/CN=target',
      '-days',
      '2',
    ],
    {
      stdio: 'ignore',
    },
  );
  const payload = Buffer.from(`conformance payload ${Date.now()}\n`.repeat(64));
  const description = `software =
{
    version = "1.0.0";
    description = "otaflow conformance image";
    hardware-compatibility: [ "1.0" ];
    images: (
        {
            filename = "payload.bin";
            type = "raw";
            device = "/dev/null";
            sha256 = "${createHash('sha256').update(payload).digest('hex')}";
        }
    );
}
`;
  const descPath = join(dir, 'sw-description');
  const sigPath = join(dir, 'sw-description.sig');
  writeFileSync(descPath, description);
  execFileSync('openssl', [
    'cms',
    '-sign',
    '-in',
    descPath,
    '-out',
    sigPath,
    '-signer',
    cert,
    '-inkey',
    key,
    '-outform',
    'DER',
    '-nosmimecap',
    '-binary',
  ]);
  const swu = newcArchive([
    { name: 'sw-description', data: Buffer.from(description) },
    { name: 'sw-description.sig', data: readFileSync(sigPath) },
    { name: 'payload.bin', data: payload },
  ]);
  return { swu, cert };
}

export const SWUPDATE_BINARY = '/usr/bin/swupdate';

export interface SuricattaOptions {
  /** The DDI server's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  tenant: string;
  controllerId: string;
  /** The certificate `buildSignedSwu` returned: suricatta refuses images it cannot verify. */
  cert: string;
  /** Where the throwaway configuration goes. */
  workDir: string;
  gatewayToken?: string;
  targetToken?: string;
  /** Polling interval suricatta starts with, in seconds (default 1). */
  pollSeconds?: number;
  /** More suricatta arguments, e.g. `['-c', '2']` to report a finished installation. */
  extraArgs?: readonly string[];
  /** Default /usr/bin/swupdate. */
  binary?: string;
}

export interface SuricattaProcess {
  child: ChildProcess;
  /** Everything swupdate printed so far, for failure messages. */
  log(): string;
  /** SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
  /**
   * Polls `check` while suricatta works, until it holds or `timeoutMs` passes; the error then
   * carries swupdate's log tail, which is what says why.
   */
  waitUntil(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
}

/**
 * Starts SWUpdate's suricatta in dry-run mode (`-n`: nothing is written to a device) against one
 * DDI server, with an empty configuration so the machine's /etc/swupdate.cfg is never read.
 */
export function startSuricatta(options: SuricattaOptions): SuricattaProcess {
  const suricatta = ['-t', options.tenant, '-u', options.baseUrl, '-i', options.controllerId];
  if (options.gatewayToken) suricatta.push('-g', options.gatewayToken);
  if (options.targetToken) suricatta.push('-k', options.targetToken);
  const poll = String(options.pollSeconds ?? 1);
  suricatta.push('-p', poll, '-w', poll, ...(options.extraArgs ?? []));
  const config = join(options.workDir, 'swupdate-empty.cfg');
  writeFileSync(config, 'globals : { };\n');
  const child = spawn(
    options.binary ?? SWUPDATE_BINARY,
    ['-v', '-n', '-f', config, '-k', options.cert, '-H', 'test:1.0', '-u', suricatta.join(' ')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (d: Buffer) => {
    // Only the tail matters for diagnosis; keep memory bounded on long runs.
    log = (log + d.toString()).slice(-64 * 1024);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return {
    child,
    log: () => log,
    async waitUntil(what, check, timeoutMs = 40_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (await check()) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${what}; swupdate log tail:\n${log.slice(-3000)}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Whether the SWUpdate binary is installed (Debian: `apt-get install swupdate`). */
export function hasSwupdate(binary = SWUPDATE_BINARY): boolean {
  return existsSync(binary);
}
