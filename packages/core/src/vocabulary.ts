import { z } from 'zod';

/** hawkBit's action statuses, the words the Rollouts API, DDI and SIE all speak. */
export const ActionStatus = z.enum([
  'FINISHED',
  'ERROR',
  'WARNING',
  'RUNNING',
  'CANCELED',
  'CANCELING',
  'RETRIEVED',
  'DOWNLOAD',
  'SCHEDULED',
  'CANCEL_REJECTED',
  'DOWNLOADED',
  'WAIT_FOR_CONFIRMATION',
]);
export type ActionStatus = z.infer<typeof ActionStatus>;

export const TargetUpdateStatus = z.enum(['UNKNOWN', 'REGISTERED', 'PENDING', 'IN_SYNC', 'ERROR']);
export type TargetUpdateStatus = z.infer<typeof TargetUpdateStatus>;

export const ActionType = z.enum(['forced', 'soft', 'timeforced', 'downloadonly']);
export type ActionType = z.infer<typeof ActionType>;

/** hawkBit weights run from 0 to 1000; a higher weight is served first. */
export const Weight = z.number().int().min(0).max(1000);
export type Weight = z.infer<typeof Weight>;

/** The weight hawkBit gives an assignment that names none. */
export const DEFAULT_WEIGHT = 1000;

/** hawkBit keeps at most this many status entries per action unless configured otherwise. */
export const DEFAULT_MAX_HISTORY = 1000;

/** Epoch milliseconds; the core never reads a clock itself. */
export const Timestamp = z.number().int().nonnegative();

export const StatusEntry = z.object({
  status: ActionStatus,
  at: Timestamp,
  messages: z.array(z.string()).optional(),
  code: z.number().int().optional(),
});
export type StatusEntry = z.infer<typeof StatusEntry>;

/** A DDI-style maintenance window: a cron schedule, an `HH:MM:SS` duration and a zone offset. */
export const MaintenanceWindow = z.object({
  schedule: z.string().min(1),
  duration: z.string().regex(/^\d{2}:\d{2}:\d{2}$/),
  timezone: z.string().regex(/^[+-]\d{2}:\d{2}$/),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const ControllerId = z
  .string()
  .min(1)
  .max(256)
  // Control characters, `.` and `..` would be stored and then could never be named in a URL path.
  .regex(
    /^[^\s\p{Cc}/\\?#]+$/u,
    'controllerId must not contain white space, control characters, slashes, ? or #',
  )
  .refine((id) => id !== '.' && id !== '..', 'controllerId must not be . or ..');
export type ControllerId = z.infer<typeof ControllerId>;
