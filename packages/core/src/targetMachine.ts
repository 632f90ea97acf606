import { assign, setup } from 'xstate';
import type { TargetUpdateStatus } from './vocabulary.js';

export interface TargetInput {
  controllerId: string;
  createdAt: number;
}

export interface TargetContext {
  controllerId: string;
  createdAt: number;
  lastModifiedAt: number;
  lastContactAt?: number;
  assignedDistributionSetId?: number;
  installedDistributionSetId?: number;
  installedAt?: number;
}

type At = { at: number };

/**
 * What happens to a target. `othersActive` says whether any other action of the target is still
 * active once this one settled; the caller knows it from its store, the machine decides from it.
 */
export type TargetEvent =
  | ({ type: 'target.contacted' } & At)
  | ({ type: 'target.assigned'; distributionSetId: number } & At)
  | ({ type: 'target.actionSucceeded'; distributionSetId: number; othersActive: boolean } & At)
  | ({ type: 'target.actionDownloaded'; othersActive: boolean } & At)
  | ({ type: 'target.actionFailed'; othersActive: boolean } & At)
  | ({ type: 'target.actionCanceled'; othersActive: boolean } & At);

/**
 * The update status of one device, driven by its actions (hawkBit's rules):
 * first contact -> REGISTERED, assignment -> PENDING, success -> IN_SYNC (assigned := installed),
 * failure -> ERROR, cancel or download-only completion with nothing else active -> IN_SYNC.
 * While another action is still active the target stays PENDING: it still waits for an update.
 */
export const targetMachine = setup({
  types: {
    context: {} as TargetContext,
    events: {} as TargetEvent,
    input: {} as TargetInput,
  },
  actions: {
    contact: assign(({ event }) => ({ lastContactAt: event.at })),
    assign: assign(({ event }) =>
      event.type === 'target.assigned'
        ? { assignedDistributionSetId: event.distributionSetId, lastModifiedAt: event.at }
        : {},
    ),
    install: assign(({ event }) =>
      event.type === 'target.actionSucceeded'
        ? {
            installedDistributionSetId: event.distributionSetId,
            installedAt: event.at,
            lastModifiedAt: event.at,
          }
        : {},
    ),
    settleAssignment: assign(({ event }) =>
      event.type === 'target.actionSucceeded'
        ? { assignedDistributionSetId: event.distributionSetId }
        : {},
    ),
    // A canceled or download-only assignment is not installed: hawkBit falls back to what is.
    revertAssignment: assign(({ context, event }) => {
      const next: Partial<TargetContext> = { lastModifiedAt: event.at };
      if (context.installedDistributionSetId !== undefined) {
        next.assignedDistributionSetId = context.installedDistributionSetId;
      } else {
        next.assignedDistributionSetId = undefined;
      }
      return next;
    }),
    touched: assign(({ event }) => ({ lastModifiedAt: event.at })),
  },
  guards: {
    othersActive: ({ event }) => 'othersActive' in event && event.othersActive,
  },
}).createMachine({
  id: 'target',
  context: ({ input }) => ({
    controllerId: input.controllerId,
    createdAt: input.createdAt,
    lastModifiedAt: input.createdAt,
  }),
  initial: 'unknown',
  on: {
    'target.contacted': { actions: 'contact' },
    'target.assigned': { target: '.pending', actions: 'assign' },
    'target.actionSucceeded': [
      { guard: 'othersActive', target: '.pending', actions: 'install' },
      // Nothing else is in flight, so the device runs what it just installed. Staying PENDING
      // because a later assignment named another set (whose action already closed, e.g. after a
      // rejected cancel let both run) would leave the target waiting for an action that no longer
      // exists; the property test against deriveTargetStatus found exactly that.
      { target: '.inSync', actions: ['install', 'settleAssignment'] },
    ],
    'target.actionDownloaded': [
      { guard: 'othersActive', target: '.pending', actions: 'touched' },
      { target: '.inSync', actions: 'revertAssignment' },
    ],
    'target.actionFailed': [
      { guard: 'othersActive', target: '.pending', actions: 'touched' },
      { target: '.error', actions: 'touched' },
    ],
    'target.actionCanceled': [
      { guard: 'othersActive', target: '.pending', actions: 'touched' },
      { target: '.inSync', actions: 'revertAssignment' },
    ],
  },
  states: {
    unknown: {
      on: { 'target.contacted': { target: 'registered', actions: 'contact' } },
    },
    registered: {},
    pending: {},
    inSync: {},
    error: {},
  },
});

export type TargetMachine = typeof targetMachine;

const STATUS_BY_STATE: Record<string, TargetUpdateStatus> = {
  unknown: 'UNKNOWN',
  registered: 'REGISTERED',
  pending: 'PENDING',
  inSync: 'IN_SYNC',
  error: 'ERROR',
};

export function targetStatusOfState(value: unknown): TargetUpdateStatus {
  const status = typeof value === 'string' ? STATUS_BY_STATE[value] : undefined;
  return status ?? 'UNKNOWN';
}

export type TargetSnapshot = import('xstate').SnapshotFrom<typeof targetMachine>;
