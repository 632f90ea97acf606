import { z } from 'zod';
import { type Collection, defineCollection } from './collections.js';

const typeFields = {
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  name: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  colour: z.string().max(16).optional(),
  /** Kept while something still uses it, used by nothing new (hawkBit's soft delete). */
  deleted: z.boolean().optional(),
  createdAt: z.number(),
  createdBy: z.string(),
  lastModifiedAt: z.number(),
  lastModifiedBy: z.string(),
};

/** A software-module type: modules name it by `key` (`os`, `application`, ...). */
export const SoftwareModuleTypeRecord = z.object({
  ...typeFields,
  key: z.string().min(1).max(64),
  /** Modules of this type one set may hold. */
  maxAssignments: z.number().int().positive(),
  minArtifacts: z.number().int().nonnegative().default(0),
});
export type SoftwareModuleTypeRecord = z.infer<typeof SoftwareModuleTypeRecord>;

/**
 * A distribution-set type: sets name it by `key`; a set is complete when it holds a module of
 * every mandatory module type, and may hold only mandatory and optional types (ids).
 */
export const DistributionSetTypeRecord = z.object({
  ...typeFields,
  key: z.string().min(1).max(64),
  mandatory: z.array(z.number().int().positive()),
  optional: z.array(z.number().int().positive()),
});
export type DistributionSetTypeRecord = z.infer<typeof DistributionSetTypeRecord>;

/** A target type: the distribution-set types (ids) its targets accept. */
export const TargetTypeRecord = z.object({
  ...typeFields,
  key: z.string().min(1).max(64).optional(),
  compatible: z.array(z.number().int().positive()),
});
export type TargetTypeRecord = z.infer<typeof TargetTypeRecord>;

const TYPE_FIELDS = {
  name: { type: 'string' },
  key: { type: 'string' },
  description: { type: 'string' },
  colour: { type: 'string' },
  deleted: { type: 'boolean' },
  createdAt: { type: 'timestamp' },
  lastModifiedAt: { type: 'timestamp' },
} as const;

export const SOFTWARE_MODULE_TYPES: Collection<SoftwareModuleTypeRecord> =
  defineCollection<SoftwareModuleTypeRecord>('softwareModuleType', {
    ...TYPE_FIELDS,
    maxAssignments: { type: 'number' },
  });
export const DISTRIBUTION_SET_TYPES: Collection<DistributionSetTypeRecord> =
  defineCollection<DistributionSetTypeRecord>('distributionSetType', TYPE_FIELDS);
export const TARGET_TYPES: Collection<TargetTypeRecord> = defineCollection<TargetTypeRecord>(
  'targetType',
  TYPE_FIELDS,
);

/**
 * What a new tenant has, as hawkBit seeds it: module types `os` (one per set) and `application`,
 * set types `os`, `app` and `os_app` (the default), by key; ids are given in this order.
 */
export const DEFAULT_SOFTWARE_MODULE_TYPES = [
  { key: 'os', name: 'OS', description: 'Core firmware or operating system', maxAssignments: 1 },
  {
    key: 'application',
    name: 'Application',
    description: 'Application Addons',
    maxAssignments: 2147483647,
  },
] as const;
export const DEFAULT_DISTRIBUTION_SET_TYPES = [
  {
    key: 'os',
    name: 'OS only',
    description: 'Default type with Firmware/OS only.',
    mandatory: ['os'],
    optional: [],
  },
  {
    key: 'app',
    name: 'App(s) only',
    description: 'Default type with app(s) only.',
    mandatory: ['application'],
    optional: [],
  },
  {
    key: 'os_app',
    name: 'OS with app(s)',
    description: 'Default type with Firmware/OS and optional app(s).',
    mandatory: ['os'],
    optional: ['application'],
  },
] as const;
