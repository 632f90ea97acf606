import type { SoftwareModule } from '@otaflow/core';
import type { ArtifactStore, StagedArtifact } from '../ArtifactStore.js';
import { BackendError } from '../BackendError.js';
import { boundaryOf, readMultipart } from '../multipart.js';
import { lockOf } from './locks.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { alreadyExists, emptyProblem, hawkbitProblem, notFound, springProblem } from './Problem.js';
import { quotaProblem, quotasOf } from './quotas.js';
import { artifactJson } from './representations.js';
import { intParam, requireModule } from './requests.js';

const CHECKSUMS = [
  ['md5sum', 'md5', 'md5Mismatch'],
  ['sha1sum', 'sha1', 'sha1Mismatch'],
  ['sha256sum', 'sha256', 'sha256Mismatch'],
] as const;

/** hawkBit's `Artifact.FILENAME_MAX_SIZE`; the store keeps names of any length up to it. */
const MAX_FILENAME_LENGTH = 256;

function isValidFilename(filename: string): boolean {
  if (!filename || filename.length > MAX_FILENAME_LENGTH) return false;
  if (filename === '.' || filename === '..' || /[/\\]/.test(filename)) return false;
  for (let i = 0; i < filename.length; i++) {
    const c = filename.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return false;
  }
  return true;
}

const invalidFilename = () => hawkbitProblem(400, 'constraint', 'Invalid characters in string');

/**
 * One upload at a time per module and store, from the name check to the catalogue write: two
 * uploads of one name would otherwise both pass the 409 check and overwrite each other's bytes,
 * and the artifact quota could be passed. Receiving and hashing, the slow part, stay concurrent.
 */
const commitLockOf = (store: ArtifactStore) => lockOf(store);

/** A module whose artifacts may change: not deleted (404) and not locked by a set (423). */
function requireChangeable(module: SoftwareModule, headers?: Record<string, string>) {
  if (module.deleted)
    throw hawkbitProblem(
      404,
      'deleted',
      `SoftwareModule ${module.id} is soft deleted`,
      undefined,
      headers,
    );
  if (module.locked)
    throw hawkbitProblem(
      423,
      'locked',
      `Software module ${module.id} is locked: it is part of a locked distribution set`,
      undefined,
      headers,
    );
}

function requireArtifactRoom(
  api: ManagementContext,
  module: SoftwareModule,
  headers?: Record<string, string>,
) {
  requireChangeable(module, headers);
  const limit = quotasOf(api).artifactsPerSoftwareModule;
  if (module.artifacts.length >= limit)
    throw quotaProblem('artifacts', `software module ${module.id}`, limit, headers);
}

/** The `file` part staged on disk with its hashes, and the form's fields (query fields first). */
async function receiveUpload(api: ManagementContext, request: EndpointRequest) {
  const contentType = request.raw.headers['content-type'];
  if (!boundaryOf(contentType)) throw springProblem(415);
  const fields = new Map<string, string>();
  for (const key of ['filename', 'md5sum', 'sha1sum', 'sha256sum']) {
    const value = request.query.get(key);
    if (value) fields.set(key, value);
  }
  let staged: StagedArtifact | undefined;
  // Set at once, not when staging ends: a second `file` part must not be staged beside the first.
  let claimed = false;
  // Once the form has failed nobody will commit: a staging that ends later removes its own file.
  let abandoned = false;
  // The file part's staging while it runs: a refusal waits for it, so that the part file is gone
  // before the answer, not some time after it (a client that lists the directory must find it as
  // it was).
  let staging: Promise<StagedArtifact> | undefined;
  let partFilename: string | undefined;
  try {
    await readMultipart(
      request.raw,
      contentType as string,
      {
        onField: (name, value) => {
          if (value !== '') fields.set(name, value);
        },
        onFile: async (part, body) => {
          // A part the parser hands over after the form already failed: the answer is out, and
          // its body may never end; stage nothing (a part file would be left behind for good).
          if (abandoned) {
            body.resume();
            return;
          }
          if (part.name !== 'file' || claimed) {
            body.resume();
            await new Promise<void>((resolve) => body.once('end', resolve).once('close', resolve));
            return;
          }
          partFilename = part.filename;
          // A bad `filename` sent before the file is refused before a byte of it is written.
          const given = fields.get('filename');
          if (given !== undefined && !isValidFilename(given)) throw invalidFilename();
          claimed = true;
          staging = api.artifacts.stage(body, { maxBytes: api.maxArtifactBytes });
          const done = await staging;
          if (abandoned) await done.discard();
          else staged = done;
        },
      },
      { maxFileBytes: api.maxArtifactBytes },
    );
  } catch (error) {
    abandoned = true;
    await (staged as StagedArtifact | undefined)?.discard();
    // Still writing when the form failed: let it end (its body ended or failed with the
    // request's), and remove what it wrote.
    if (!staged && staging)
      await (staging as Promise<StagedArtifact>).then(
        (done) => done.discard(),
        () => undefined,
      );
    if (error instanceof BackendError && error.code === 'UPLOAD_TOO_LARGE') {
      throw hawkbitProblem(
        429,
        'fileSize',
        `Maximum file size of ${api.maxArtifactBytes} bytes exceeded`,
        undefined,
        { Connection: 'close' },
      );
    }
    if (error instanceof BackendError && error.code === 'BAD_MULTIPART') {
      throw hawkbitProblem(400, 'uploadFailed', `Upload failed: ${error.message}`, undefined, {
        Connection: 'close',
      });
    }
    throw error;
  }
  return { staged: staged as StagedArtifact | undefined, fields, partFilename };
}

/**
 * `POST /softwaremodules/{id}/artifacts`: multipart with a `file` part, streamed to disk while
 * sha1, md5 and sha256 are computed; given checksums (form or query) must match.
 */
export async function uploadArtifact(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const module = await requireModule(api, request.params.id);
  // The body is not read: the connection cannot carry another request.
  requireArtifactRoom(api, module, { Connection: 'close' });
  const { staged, fields, partFilename } = await receiveUpload(api, request);
  try {
    if (!staged) throw hawkbitProblem(400, 'uploadFailed', "Required part 'file' is not present.");
    if (staged.size === 0) throw emptyProblem(400);
    const filename = fields.get('filename') ?? partFilename ?? '';
    if (!isValidFilename(filename)) throw invalidFilename();
    for (const [field, hash, kind] of CHECKSUMS) {
      const given = fields.get(field);
      if (given !== undefined && given.toLowerCase() !== staged.hashes[hash]) {
        throw hawkbitProblem(
          400,
          kind,
          `The given ${hash.toUpperCase()} checksum does not match the uploaded file`,
        );
      }
    }
    const artifact = await commitLockOf(api.artifacts).run(String(module.id), async () => {
      const current = await requireModule(api, String(module.id));
      if (current.artifacts.some((a) => a.filename === filename)) {
        throw alreadyExists('File with that name already exists in the Software Module');
      }
      requireArtifactRoom(api, current);
      await staged.commit(module.id, filename);
      try {
        return await api.service.addArtifact(module.id, {
          filename,
          size: staged.size,
          hashes: staged.hashes,
        });
      } catch (error) {
        // No catalogue entry names these bytes (the name was free under the lock): remove them.
        await api.artifacts.delete(module.id, filename);
        throw error;
      }
    });
    api.logger.info(
      { moduleId: module.id, filename, size: staged.size, sha256: staged.hashes.sha256 },
      'artifact uploaded',
    );
    return { status: 201, body: artifactJson(api, request.base, module.id, artifact, true) };
  } catch (error) {
    await staged?.discard();
    throw error;
  }
}

export async function listArtifacts(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const module = await requireModule(api, request.params.id);
  const full = request.query.get('representation') === 'full';
  return {
    status: 200,
    body: module.artifacts.map((a) => artifactJson(api, request.base, module.id, a, full)),
  };
}

async function requireArtifact(api: ManagementContext, request: EndpointRequest) {
  const module: SoftwareModule = await requireModule(api, request.params.id);
  const id = intParam(request.params.artifactId, 'Artifact');
  const artifact = module.artifacts.find((a) => a.id === id);
  if (!artifact) throw notFound('Artifact', id);
  return { module, artifact };
}

export async function getArtifact(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const { module, artifact } = await requireArtifact(api, request);
  return { status: 200, body: artifactJson(api, request.base, module.id, artifact, true) };
}

export async function deleteArtifact(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const { module, artifact } = await requireArtifact(api, request);
  requireChangeable(module);
  await api.service.deleteArtifact(module.id, artifact.id);
  await api.artifacts.delete(module.id, artifact.filename);
  return { status: 204 };
}

/** `GET /softwaremodules/{id}/artifacts/{artifactId}/download`: served as DDI serves it. */
export async function downloadArtifact(
  api: ManagementContext,
  request: EndpointRequest,
): Promise<Reply> {
  const { module, artifact } = await requireArtifact(api, request);
  const stored = await api.artifacts.stat(module.id, artifact.filename);
  if (!stored) throw notFound('Artifact', artifact.id);
  const served = {
    moduleId: module.id,
    filename: artifact.filename,
    size: stored.size,
    sha1: stored.hashes.sha1,
  };
  return {
    status: 200,
    artifact:
      stored.lastModified === undefined ? served : { ...served, lastModified: stored.lastModified },
  };
}

export const artifactRoutes: Route[] = [
  {
    method: 'POST',
    path: '/softwaremodules/:id/artifacts',
    endpoint: uploadArtifact,
    query: ['filename', 'md5sum', 'sha1sum', 'sha256sum'],
  },
  {
    method: 'GET',
    path: '/softwaremodules/:id/artifacts',
    endpoint: listArtifacts,
    query: ['representation'],
  },
  { method: 'GET', path: '/softwaremodules/:id/artifacts/:artifactId', endpoint: getArtifact },
  {
    method: 'DELETE',
    path: '/softwaremodules/:id/artifacts/:artifactId',
    endpoint: deleteArtifact,
  },
  {
    method: 'GET',
    path: '/softwaremodules/:id/artifacts/:artifactId/download',
    endpoint: downloadArtifact,
  },
];
