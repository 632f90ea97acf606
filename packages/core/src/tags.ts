import { z } from 'zod';
import { type Collection, defineCollection } from './collections.js';

/** A target tag or a distribution-set tag (hawkBit's `MgmtTag`). */
export const TagRecord = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  name: z.string().min(1).max(64),
  description: z.string().max(512).optional(),
  colour: z.string().max(16).optional(),
  createdAt: z.number(),
  createdBy: z.string(),
  lastModifiedAt: z.number(),
  lastModifiedBy: z.string(),
});
export type TagRecord = z.infer<typeof TagRecord>;

const TAG_FIELDS = {
  name: { type: 'string' },
  description: { type: 'string' },
  colour: { type: 'string' },
  createdAt: { type: 'timestamp' },
  lastModifiedAt: { type: 'timestamp' },
} as const;

export const TARGET_TAGS: Collection<TagRecord> = defineCollection<TagRecord>(
  'targetTag',
  TAG_FIELDS,
);
export const DISTRIBUTION_SET_TAGS: Collection<TagRecord> = defineCollection<TagRecord>(
  'distributionSetTag',
  TAG_FIELDS,
);

/**
 * One tag on one target (`member` its controller id) or one set (its id as text), scoped
 * `targettag:<tagId>` or `dstag:<tagId>`: a tag's members are a scope's list.
 */
export const TagAssignment = z.object({
  id: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  scope: z.string().min(1),
  tagId: z.number().int().positive(),
  member: z.string().min(1),
});
export type TagAssignment = z.infer<typeof TagAssignment>;

export const TAG_ASSIGNMENTS: Collection<TagAssignment> = defineCollection<TagAssignment>(
  'tagAssignment',
  { tagId: { type: 'number' }, member: { type: 'string' } },
);

export const tagScope = {
  target: (tagId: number) => `targettag:${tagId}`,
  distributionSet: (tagId: number) => `dstag:${tagId}`,
} as const;
