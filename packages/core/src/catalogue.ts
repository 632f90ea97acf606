import { z } from 'zod';
import { Timestamp } from './vocabulary.js';

const sha1 = z.string().regex(/^[0-9a-f]{40}$/i);
const md5 = z.string().regex(/^[0-9a-f]{32}$/i);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/i);

export const ArtifactHashes = z.object({ sha1, md5, sha256 });
export type ArtifactHashes = z.infer<typeof ArtifactHashes>;

/** Artifact metadata; the bytes live in whatever artifact storage an app provides. */
export const Artifact = z.object({
  id: z.number().int().positive(),
  filename: z.string().min(1).max(256),
  size: z.number().int().nonnegative(),
  hashes: ArtifactHashes,
  createdAt: Timestamp,
});
export type Artifact = z.infer<typeof Artifact>;

export const MetadataEntry = z.object({
  key: z.string().min(1).max(128),
  value: z.string().max(4000),
});
export type MetadataEntry = z.infer<typeof MetadataEntry>;

export const SoftwareModule = z.object({
  id: z.number().int().positive(),
  /** hawkBit module type key, e.g. `os`, `application`, `firmware`. */
  type: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  vendor: z.string().max(256).optional(),
  description: z.string().max(512).optional(),
  encrypted: z.boolean().default(false),
  /** Part of a locked set: its artifacts no longer change (hawkBit's lock). Absent: false. */
  locked: z.boolean().optional(),
  /** Deleted while a set still used it: kept for what refers to it, used by nothing new. */
  deleted: z.boolean().optional(),
  metadata: z.array(MetadataEntry).default([]),
  artifacts: z.array(Artifact).default([]),
  createdAt: Timestamp,
  lastModifiedAt: Timestamp,
  /**
   * Optimistic concurrency, as `version` is on targets and actions (here `version` is the
   * software's own, hawkBit's): every write names the revision it read.
   */
  revision: z.number().int().nonnegative(),
});
export type SoftwareModule = z.infer<typeof SoftwareModule>;

export const DistributionSet = z.object({
  id: z.number().int().positive(),
  name: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  /** hawkBit distribution set type key, e.g. `os_app`. */
  type: z.string().min(1).max(64).default('os_app'),
  description: z.string().max(512).optional(),
  requiredMigrationStep: z.boolean().default(false),
  modules: z.array(z.number().int().positive()),
  /** Assigned once (or locked by hand): its modules no longer change. Absent: false. */
  locked: z.boolean().optional(),
  /** Invalidated: never assigned again, for good. Absent: valid. */
  valid: z.boolean().optional(),
  /** Deleted while actions or rollouts still refer to it. Absent: false. */
  deleted: z.boolean().optional(),
  createdAt: Timestamp,
  lastModifiedAt: Timestamp,
  /**
   * Optimistic concurrency, as `version` is on targets and actions (here `version` is the
   * software's own, hawkBit's): every write names the revision it read.
   */
  revision: z.number().int().nonnegative(),
});
export type DistributionSet = z.infer<typeof DistributionSet>;
