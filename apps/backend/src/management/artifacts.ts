import type { SoftwareModule } from '@otaflow/core';
import type { StagedArtifact } from '../ArtifactStore.js';
import { BackendError } from '../BackendError.js';
import { boundaryOf, readMultipart } from '../multipart.js';
import type { EndpointRequest, ManagementContext, Reply, Route } from './ManagementContext.js';
import { alreadyExists, emptyProblem, hawkbitProblem, notFound, springProblem } from './Problem.js';
import { artifactJson } from './representations.js';
import { intParam, requireModule } from './requests.js';

const CHECKSUMS = [
  ['md5sum', 'md5', 'md5Mismatch'],
  ['sha1sum', 'sha1', 'sha1Mismatch'],
  ['sha256sum', 'sha256', 'sha256Mismatch'],
] as const;

function isValidFilename(filename: string): boolean {
  if (!filename || filename.length > 256 || filename === '.' || filename === '..') return false;
  if (/[/\\]/.test(filename)) return false;
  for (let i = 0; i < filename.length; i++) if (filename.charCodeAt(i) < 0x20) return false;
  return true;
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
          if (part.name !== 'file' || staged) {
            body.resume();
            await new Promise<void>((resolve) => body.once('end', resolve).once('close', resolve));
            return;
          }
          partFilename = part.filename;
          staged = await api.artifacts.stage(body, { maxBytes: api.maxArtifactBytes });
        },
      },
      { maxFileBytes: api.maxArtifactBytes },
    );
  } catch (error) {
    await (staged as StagedArtifact | undefined)?.discard();
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
  const { staged, fields, partFilename } = await receiveUpload(api, request);
  try {
    if (!staged) throw hawkbitProblem(400, 'uploadFailed', "Required part 'file' is not present.");
    if (staged.size === 0) throw emptyProblem(400);
    const filename = fields.get('filename') ?? partFilename ?? '';
    if (!isValidFilename(filename))
      throw hawkbitProblem(400, 'constraint', 'Invalid characters in string');
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
    const current = await requireModule(api, String(module.id));
    if (current.artifacts.some((a) => a.filename === filename)) {
      throw alreadyExists('File with that name already exists in the Software Module');
    }
    await staged.commit(module.id, filename);
    const artifact = await api.service.addArtifact(module.id, {
      filename,
      size: staged.size,
      hashes: staged.hashes,
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
  { method: 'POST', path: '/softwaremodules/:id/artifacts', endpoint: uploadArtifact },
  { method: 'GET', path: '/softwaremodules/:id/artifacts', endpoint: listArtifacts },
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
