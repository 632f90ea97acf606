import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A newc (`070701`) cpio archive, the format SWUpdate reads; `cpio` is not installed here. */
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
