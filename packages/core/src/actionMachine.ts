import { assign, setup } from 'xstate';
import type { ActionEvent } from './actionEvents.js';
import type { ActionStatus, ActionType, MaintenanceWindow, StatusEntry } from './vocabulary.js';
import { DEFAULT_MAX_HISTORY } from './vocabulary.js';

/** What an action is created with. Everything here is JSON, so snapshots persist as they are. */
export interface ActionInput {
  id: number;
  controllerId: string;
  distributionSetId: number;
  distributionSetName: string;
  distributionSetVersion: string;
  type: ActionType;
  weight: number;
  /** No weight was given: `weight` is the default that orders it; SUv2's install says `null`. */
  weightDefaulted?: true;
  confirmationRequired: boolean;
  createdAt: number;
  /** Epoch ms after which a `timeforced` action counts as forced. */
  forcedTime?: number;
  maintenanceWindow?: MaintenanceWindow;
  /** Created inside a rollout group that has not started: the action waits in SCHEDULED. */
  scheduled?: boolean;
  /** The rollout and group the action belongs to, if any: a group's progress counts its actions. */
  rolloutId?: number;
  rolloutGroupId?: number;
  /** Bound of the status history; hawkBit's default is 1000. */
  maxHistory?: number;
}

export interface ActionContext extends Omit<ActionInput, 'maxHistory'> {
  status: ActionStatus;
  lastModifiedAt: number;
  lastStatusCode?: number;
  maxHistory: number;
  history: StatusEntry[];
  /**
   * How many entries the bound dropped from the front of `history` so far (absent: none), so
   * that every entry has a stable position, `historyDropped + index`: a store appends by it.
   */
  historyDropped?: number;
}

type InitEvent = { type: string; at?: number; messages?: string[]; code?: number };

export function entryFrom(status: ActionStatus, event: InitEvent, fallbackAt: number): StatusEntry {
  const entry: StatusEntry = { status, at: typeof event.at === 'number' ? event.at : fallbackAt };
  if (event.messages && event.messages.length > 0) entry.messages = event.messages;
  if (typeof event.code === 'number') entry.code = event.code;
  return entry;
}

export function appended(context: ActionContext, entry: StatusEntry): StatusEntry[] {
  const { history, maxHistory } = context;
  // Drop the oldest entries, as hawkBit does when an action's status list is full.
  // One array of the final length each time: a copy then a push allocated it twice (the push
  // outgrew the copy). At the bound, the oldest entry is shifted out of the new array in place.
  if (history.length < maxHistory) return history.concat(entry);
  if (history.length === maxHistory) {
    const keep = history.concat(entry);
    keep.shift();
    return keep;
  }
  const keep = history.slice(history.length - maxHistory + 1);
  keep.push(entry);
  return keep;
}

/** `history` with `entry` appended, and `historyDropped` moved on by what the bound dropped. */
export function historyWith(
  context: ActionContext,
  entry: StatusEntry,
): Pick<ActionContext, 'history' | 'historyDropped'> {
  const history = appended(context, entry);
  const dropped = context.history.length + 1 - history.length;
  return dropped > 0
    ? { history, historyDropped: (context.historyDropped ?? 0) + dropped }
    : { history };
}

/**
 * hawkBit's `active`: the top-level states that carry this tag. The machine says it once here, and
 * views, the service and the fast path read it from the machine (`actionStates.ts`); a final state
 * is never active, and a scheduled action is not active yet.
 */
export const ACTIVE = 'active';

const record = (status: ActionStatus) => ({ type: 'record', params: { status } }) as const;
const note = (status: ActionStatus) => ({ type: 'note', params: { status } }) as const;

/**
 * One update of one target, from creation to a final state, in hawkBit's vocabulary.
 *
 * Every state records its ActionStatus on entry (`record`); reports that do not change the
 * status are kept as history entries only (`note`). Final states handle no event, so a late or
 * duplicate report can never move a finished action: `applyActionEvent` turns that into a typed
 * refusal. Which states are final (`type: 'final'`) and which active (tag `active`) is read from
 * here by everything else.
 */
export const actionMachine = setup({
  types: {
    context: {} as ActionContext,
    events: {} as ActionEvent,
    input: {} as ActionInput,
    tags: {} as typeof ACTIVE,
  },
  actions: {
    record: assign(({ context, event }, params: { status: ActionStatus }) => {
      const entry = entryFrom(params.status, event as InitEvent, context.createdAt);
      const next: Partial<ActionContext> = {
        status: params.status,
        lastModifiedAt: entry.at,
        ...historyWith(context, entry),
      };
      if (entry.code !== undefined) next.lastStatusCode = entry.code;
      return next;
    }),
    note: assign(({ context, event }, params: { status: ActionStatus }) => {
      const entry = entryFrom(params.status, event as InitEvent, context.createdAt);
      const next: Partial<ActionContext> = {
        lastModifiedAt: entry.at,
        ...historyWith(context, entry),
      };
      if (entry.code !== undefined) next.lastStatusCode = entry.code;
      return next;
    }),
    noteReported: assign(({ context, event }) => {
      const status = event.type === 'cancel.progress' ? event.reported : 'CANCELING';
      const entry = entryFrom(status, event, context.createdAt);
      const next: Partial<ActionContext> = {
        lastModifiedAt: entry.at,
        ...historyWith(context, entry),
      };
      if (entry.code !== undefined) next.lastStatusCode = entry.code;
      return next;
    }),
  },
  guards: {
    isScheduled: ({ context }) => context.scheduled === true,
    needsConfirmation: ({ context }) => context.confirmationRequired,
    isDownloadOnly: ({ context }) => context.type === 'downloadonly',
    succeeded: ({ event }) => event.type === 'action.finished' && event.result === 'success',
    withWarning: ({ event }) => event.type === 'action.finished' && event.warning === true,
    // The result decides the final state; a warning only adds an entry before it (SUv2
    // FINISHED_WARNING mapped as a failure must end in ERROR, not FINISHED).
    succeededWithWarning: ({ event }) =>
      event.type === 'action.finished' && event.warning === true && event.result === 'success',
  },
}).createMachine({
  id: 'action',
  context: ({ input }) => {
    const { maxHistory, ...rest } = input;
    return {
      ...rest,
      status: 'RUNNING',
      lastModifiedAt: input.createdAt,
      maxHistory: maxHistory ?? DEFAULT_MAX_HISTORY,
      history: [],
    };
  },
  initial: 'created',
  states: {
    created: {
      always: [
        { guard: 'isScheduled', target: 'scheduled' },
        { guard: 'needsConfirmation', target: 'waitingForConfirmation' },
        { target: 'running' },
      ],
    },
    scheduled: {
      entry: record('SCHEDULED'),
      on: {
        'action.start': [
          { guard: 'needsConfirmation', target: 'waitingForConfirmation' },
          { target: 'running' },
        ],
        // Nothing reached the device yet, so there is nothing to wait for.
        'cancel.requested': { target: 'canceled' },
      },
    },
    waitingForConfirmation: {
      tags: ACTIVE,
      entry: record('WAIT_FOR_CONFIRMATION'),
      on: {
        'action.confirmed': { target: 'running' },
        'action.denied': { target: 'waitingForConfirmation', reenter: true },
        'cancel.requested': { target: 'canceling' },
      },
    },
    running: {
      tags: ACTIVE,
      initial: 'running',
      states: {
        running: { entry: record('RUNNING') },
        retrieved: { entry: record('RETRIEVED') },
        download: { entry: record('DOWNLOAD') },
        downloaded: { entry: record('DOWNLOADED') },
        warning: { entry: record('WARNING') },
      },
      on: {
        'action.retrieved': { target: '.retrieved' },
        'action.download': { target: '.download' },
        'action.downloaded': [
          { guard: 'isDownloadOnly', target: 'downloadOnlyDone' },
          { target: '.downloaded' },
        ],
        'action.proceeding': { target: '.running' },
        'action.rejected': { target: '.warning' },
        'action.deviceCanceled': { actions: note('CANCELED') },
        'action.canceled': { target: 'canceled' },
        'action.finished': [
          { guard: 'succeededWithWarning', target: 'finished', actions: note('WARNING') },
          { guard: 'succeeded', target: 'finished' },
          { guard: 'withWarning', target: 'error', actions: note('WARNING') },
          { target: 'error' },
        ],
        'cancel.requested': { target: 'canceling' },
      },
    },
    canceling: {
      tags: ACTIVE,
      entry: record('CANCELING'),
      on: {
        'cancel.confirmed': { target: 'canceled' },
        'action.deviceCanceled': { target: 'canceled' },
        'action.canceled': { target: 'canceled' },
        // hawkBit keeps the CANCEL_REJECTED entry and sets the action RUNNING again: the device
        // goes on with the update, and must be able to finish it (or be asked to cancel again).
        'cancel.rejected': { target: 'running.running', actions: note('CANCEL_REJECTED') },
        'cancel.failed': { target: 'running.running' },
        'cancel.progress': { actions: 'noteReported' },
        'action.retrieved': { actions: note('RETRIEVED') },
        'action.download': { actions: note('DOWNLOAD') },
        'action.downloaded': { actions: note('DOWNLOADED') },
        'action.proceeding': { actions: note('RUNNING') },
        'action.rejected': { actions: note('WARNING') },
        // The device finished before it saw the cancel: what it did is what counts.
        'action.finished': [
          { guard: 'succeededWithWarning', target: 'finished', actions: note('WARNING') },
          { guard: 'succeeded', target: 'finished' },
          { guard: 'withWarning', target: 'error', actions: note('WARNING') },
          { target: 'error' },
        ],
        'action.forceQuit': { target: 'canceled' },
      },
    },
    finished: { type: 'final', entry: record('FINISHED') },
    error: { type: 'final', entry: record('ERROR') },
    canceled: { type: 'final', entry: record('CANCELED') },
    /** A download-only action ends when the device has the artifacts. */
    downloadOnlyDone: { type: 'final', entry: record('DOWNLOADED') },
  },
});

export type ActionMachine = typeof actionMachine;
