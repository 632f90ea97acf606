import type { ActionView, Artifact, SoftwareModule } from '@otaflow/core';
import { IotHubError } from './IotHubError.js';
import type {
  DownloadProtocol,
  SoftwareModuleAction,
  SoftwareUpdateAction,
} from './softwareUpdatable.js';

/** Where devices download an artifact from; the backend decides (artifact server, CDN...). */
export type ArtifactUrlOf = (module: SoftwareModule, artifact: Artifact) => string;

const PROTOCOL: Record<string, DownloadProtocol> = {
  'https:': 'HTTPS',
  'http:': 'HTTP',
  'ftp:': 'FTP',
  'sftp:': 'SFTP',
};

/** The SUv2 subject an action's first command is sent under. */
export function installSubject(view: Pick<ActionView, 'type'>): 'install' | 'download' {
  return view.type === 'downloadonly' ? 'download' : 'install';
}

/** One module of an install/download command: its artifacts with checksums and download links. */
export function moduleAction(
  module: SoftwareModule,
  artifactUrl: ArtifactUrlOf,
): SoftwareModuleAction {
  const action: SoftwareModuleAction = {
    softwareModule: { name: module.name, version: module.version },
    artifacts: module.artifacts.map((a) => {
      const url = artifactUrl(module, a);
      const protocol = PROTOCOL[new URL(url).protocol];
      if (!protocol)
        throw new IotHubError('INVALID_OPTIONS', `artifactUrl gave an unsupported URL: ${url}`);
      return {
        filename: a.filename,
        size: a.size,
        checksums: { SHA1: a.hashes.sha1, MD5: a.hashes.md5, SHA256: a.hashes.sha256 },
        download: { [protocol]: { url } },
      };
    }),
  };
  if (module.metadata.length > 0)
    action.metadata = Object.fromEntries(module.metadata.map((m) => [m.key, m.value]));
  return action;
}

/** install (or download): every module of the action's distribution set in one command. */
export function installValue(
  view: Pick<ActionView, 'type' | 'weight' | 'weightDefaulted'>,
  modules: readonly SoftwareModule[],
  correlationId: string,
  artifactUrl: ArtifactUrlOf,
): SoftwareUpdateAction {
  return {
    correlationId,
    forced: view.type === 'forced',
    // Seed 000: the weight set on the assignment, or null when none was given (not the 1000
    // that orders such actions).
    weight: view.weightDefaulted ? null : view.weight,
    softwareModules: modules.map((m) => moduleAction(m, artifactUrl)),
  };
}

/** cancel: the same correlationId and modules, without artifacts. */
export function cancelValue(
  modules: readonly SoftwareModule[],
  correlationId: string,
): SoftwareUpdateAction {
  return {
    correlationId,
    softwareModules: modules.map((m) => ({
      softwareModule: { name: m.name, version: m.version },
    })),
  };
}
