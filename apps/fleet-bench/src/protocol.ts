import { z } from 'zod';
import { LatencySummary } from './latency.js';

/** What the parent tells a simulator child; every command is answered once, with its `id`. */
export const SimCommand = z.object({
  id: z.number(),
  cmd: z.enum(['start', 'window', 'pause', 'resume', 'blast', 'stop']),
  config: z.unknown().optional(),
  seconds: z.number().optional(),
  connections: z.number().optional(),
  /** `blast` against another server (same paths), e.g. the bare baseline. */
  origin: z.string().optional(),
});
export type SimCommand = z.infer<typeof SimCommand>;

export const DdiSimConfig = z.object({
  baseUrl: z.string(),
  tenant: z.string(),
  prefix: z.string(),
  count: z.number().int().nonnegative(),
  /** Poll interval; each wait is drawn from it ±jitter, the first one from [0, pollMs). */
  pollMs: z.number().positive(),
  jitter: z.number().min(0).max(0.9).default(0.2),
  connections: z.number().int().positive().default(64),
  /** Stop after this long whatever happens (a bound for every loop). */
  maxRunMs: z.number().positive(),
});
export type DdiSimConfig = z.input<typeof DdiSimConfig>;

export const MqttSimConfig = z.object({
  mqttUrl: z.string(),
  tenant: z.string(),
  prefix: z.string(),
  count: z.number().int().nonnegative(),
  downloadDir: z.string(),
  connectConcurrency: z.number().int().positive().default(50),
  maxRunMs: z.number().positive(),
});
export type MqttSimConfig = z.input<typeof MqttSimConfig>;

/** Counters and latencies since the last `window` (or since start). */
export const SimWindow = z.object({
  seconds: z.number(),
  requests: z.number(),
  reports: z.number(),
  errors: z.number(),
  completed: z.number(),
  latency: z.record(z.string(), LatencySummary),
  lastErrors: z.array(z.string()),
});
export type SimWindow = z.infer<typeof SimWindow>;

export const BlastResult = z.object({
  seconds: z.number(),
  requests: z.number(),
  errors: z.number(),
  perSecond: z.number(),
  latency: LatencySummary,
});
export type BlastResult = z.infer<typeof BlastResult>;

export const SimProgress = z.object({
  type: z.literal('progress'),
  registered: z.number(),
  completed: z.number(),
  requests: z.number(),
  reports: z.number(),
  errors: z.number(),
});
export type SimProgress = z.infer<typeof SimProgress>;

export const SimReply = z.object({
  type: z.literal('reply'),
  id: z.number(),
  ok: z.boolean(),
  error: z.string().optional(),
  data: z.unknown().optional(),
});
export type SimReply = z.infer<typeof SimReply>;
