import { z } from 'zod';
import { type Collection, defineCollection } from './collections.js';

/**
 * One metadata entry of a target, a distribution set or a software module (hawkBit's
 * `*MetadataEntry`), kept in the `metadata` collection under its owner's scope.
 * `targetVisible` (software modules only): DDI hands the entry to devices in the module's chunk.
 */
export const MetadataRecord = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  scope: z.string().min(1),
  key: z.string().min(1).max(128),
  value: z.string().max(4000),
  targetVisible: z.boolean().optional(),
});
export type MetadataRecord = z.infer<typeof MetadataRecord>;

export const METADATA: Collection<MetadataRecord> = defineCollection<MetadataRecord>('metadata', {
  key: { type: 'string' },
  value: { type: 'string' },
  targetVisible: { type: 'boolean' },
});

/** The scope of an owner's entries: exact keys, so one owner's list never sees another's. */
export const metadataScope = {
  target: (controllerId: string) => `target:${controllerId}`,
  distributionSet: (id: number) => `ds:${id}`,
  softwareModule: (id: number) => `sm:${id}`,
} as const;

/** hawkBit's `maxMetaDataEntriesPer{Target,DistributionSet,SoftwareModule}`. */
export const MAX_METADATA_PER_ENTITY = 100;
