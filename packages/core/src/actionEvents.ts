import { z } from 'zod';
import { Timestamp } from './vocabulary.js';

const report = {
  at: Timestamp,
  messages: z.array(z.string()).optional(),
  code: z.number().int().optional(),
};

const simple = <T extends string>(type: T) => z.object({ type: z.literal(type), ...report });

/**
 * Protocol-neutral events of one action. Adapters map their protocol's reports into these
 * (see the mapping modules); the action machine decides what each one means in its state.
 */
export const ActionEvent = z.discriminatedUnion('type', [
  /** A scheduled action (a rollout group not started yet) becomes live. */
  simple('action.start'),
  /** The device fetched the action. */
  simple('action.retrieved'),
  simple('action.download'),
  simple('action.downloaded'),
  /** The device works on it: DDI proceeding/scheduled/resumed, SUv2 STARTED/INSTALLING... */
  simple('action.proceeding'),
  /** The device refuses the update for now (DDI `rejected`): a WARNING, the action goes on. */
  simple('action.rejected'),
  /**
   * The device reports `canceled` on the deployment resource. Without a cancel pending that is only
   * recorded; while CANCELING it completes the cancel.
   */
  simple('action.deviceCanceled'),
  /** The device ended the operation as canceled (SUv2 FINISHED_CANCELED): always final. */
  simple('action.canceled'),
  z.object({
    type: z.literal('action.finished'),
    result: z.enum(['success', 'failure']),
    /** Adds a WARNING entry before the final one (SUv2 FINISHED_WARNING). */
    warning: z.boolean().optional(),
    ...report,
  }),
  simple('action.confirmed'),
  simple('action.denied'),
  simple('cancel.requested'),
  simple('cancel.confirmed'),
  simple('cancel.rejected'),
  simple('cancel.failed'),
  z.object({
    type: z.literal('cancel.progress'),
    /** What the device said while the cancel is pending; recorded, the action stays CANCELING. */
    reported: z.enum(['RETRIEVED', 'DOWNLOAD', 'DOWNLOADED', 'RUNNING', 'CANCELING', 'WARNING']),
    ...report,
  }),
  simple('action.forceQuit'),
]);
export type ActionEvent = z.infer<typeof ActionEvent>;
export type ActionEventType = ActionEvent['type'];
