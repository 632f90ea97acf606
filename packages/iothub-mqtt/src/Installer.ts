import type { DownloadedArtifact } from './artifactDownload.js';
import type { SoftwareModuleId } from './softwareUpdatable.js';

/** What the installer gets for one software module of one operation. */
export interface InstallContext {
  correlationId: string;
  module: SoftwareModuleId;
  metadata: Record<string, string>;
  files: DownloadedArtifact[];
  forced: boolean;
  /** Aborted when a cancel the installer accepted arrives. */
  signal: AbortSignal;
  /** Reports INSTALLING with this percentage (0..100) and message. */
  progress(percent: number, message?: string): void;
}

/** A successful install may end with a warning (FINISHED_WARNING). */
export interface InstallResult {
  status?: 'FINISHED_SUCCESS' | 'FINISHED_WARNING';
  message?: string;
  statusCode?: number;
}

/**
 * The device-specific part of an update. `install` throws to fail (an error with a numeric
 * `statusCode`, e.g. a script's exit code, is reported as such).
 */
export interface Installer {
  // biome-ignore lint/suspicious/noConfusingVoidType: most installers return nothing
  install(context: InstallContext): Promise<InstallResult | undefined | void>;
  /**
   * A cancel arrived while `install` runs. Return true to stop (the context's signal is then
   * aborted and `install` should reject); false, or no method, rejects the cancel.
   */
  cancel?(context: { correlationId: string; module: SoftwareModuleId }): boolean | Promise<boolean>;
  /**
   * The agent restarted while this module was installing: say how it ended (e.g. by checking the
   * installed version). Without this method such an operation is reported as FINISHED_ERROR.
   */
  resume?(
    context: Omit<InstallContext, 'files' | 'progress' | 'signal'>,
    // biome-ignore lint/suspicious/noConfusingVoidType: most installers return nothing
  ): Promise<InstallResult | undefined | void>;
}
