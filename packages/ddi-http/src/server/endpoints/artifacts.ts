import { isSafeArtifactName } from '../../FileArtifactSource.js';
import { serveArtifact } from '../../http/serveArtifact.js';
import { sendResource } from '../answers.js';
import type { DdiRequest } from '../DdiRequest.js';
import { moduleFor, record } from '../lookups.js';
import { notFound, refused } from '../refusals.js';
import { artifactJson } from '../representations.js';

/** `GET .../softwaremodules/{moduleId}/artifacts`: a module of an action or of the installed set. */
export async function getArtifacts(ctx: DdiRequest, moduleId: number): Promise<void> {
  const module = await moduleFor(ctx, moduleId, true);
  const base = ctx.base;
  sendResource(
    ctx,
    module.artifacts.map((a) => artifactJson(base, module, a)),
  );
}

/**
 * `GET|HEAD .../softwaremodules/{moduleId}/artifacts/{filename}` and its `.MD5SUM`: a download
 * of an active action's module; a whole-file GET records DOWNLOAD on that action.
 */
export async function getArtifact(
  ctx: DdiRequest,
  moduleId: number,
  filename: string,
): Promise<void> {
  if (!isSafeArtifactName(filename)) throw refused(404);
  const module = await moduleFor(ctx, moduleId, false);
  const { service, artifacts } = ctx.server;
  let artifact = module.artifacts.find((a) => a.filename === filename);
  const md5sum = !artifact && filename.endsWith('.MD5SUM');
  if (md5sum) artifact = module.artifacts.find((a) => `${a.filename}.MD5SUM` === filename);
  if (!artifact) throw notFound(`Artifact with given identifier {${filename}} does not exist.`);
  const info = await artifacts.stat(moduleId, artifact.filename);
  if (!info) throw notFound(`Artifact with given identifier {${filename}} has no content.`);
  const { req, res } = ctx;
  if (req.method === 'GET' && (md5sum || req.headers.range === undefined)) {
    for (const a of await service.listActions(ctx.controllerId)) {
      if (!a.active || a.status === 'CANCELING' || a.status === 'WAIT_FOR_CONFIRMATION') continue;
      if (!(await service.getDistributionSet(a.distributionSetId))?.modules.includes(moduleId))
        continue;
      await record(ctx.server, a.id, {
        type: 'action.download',
        at: service.now(),
        messages: [`Update Server: Target downloads ${req.url}`],
      });
      break;
    }
  }
  if (md5sum) {
    const text = `${artifact.hashes.md5.toLowerCase()}  ${artifact.filename}`;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/plain');
    res.setHeader('Content-Disposition', `attachment;filename=${artifact.filename}.MD5SUM`);
    res.setHeader('Content-Length', Buffer.byteLength(text, 'ascii'));
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  await serveArtifact(
    req,
    res,
    {
      moduleId,
      filename: artifact.filename,
      size: info.size,
      sha1: artifact.hashes.sha1.toLowerCase(),
      lastModified: info.lastModified ?? artifact.createdAt,
    },
    artifacts,
  );
}
