import {
  type EventTemplate,
  fromTemplate,
  type MappingResult,
  type ReportFields,
} from './mappingResult.js';

export const DDI_EXECUTIONS = [
  'closed',
  'proceeding',
  'canceled',
  'scheduled',
  'rejected',
  'resumed',
  'downloaded',
  'download',
] as const;
export type DdiExecution = (typeof DDI_EXECUTIONS)[number];
export type DdiFinished = 'success' | 'failure' | 'none';
/** Which resource the feedback was posted to. */
export type DdiFeedbackEndpoint = 'deployment' | 'cancel';

type Row = Record<DdiFinished, EventTemplate>;
const same = (t: EventTemplate): Row => ({ success: t, failure: t, none: t });

/** DDI feedback on `deploymentBase/{id}/feedback` (ARCHITECTURE.md, first column). */
export const DDI_DEPLOYMENT_FEEDBACK: Readonly<Record<DdiExecution, Row>> = {
  closed: {
    success: { type: 'action.finished', result: 'success' },
    none: { type: 'action.finished', result: 'success' },
    failure: { type: 'action.finished', result: 'failure' },
  },
  canceled: same({ type: 'action.deviceCanceled' }),
  rejected: same({ type: 'action.rejected' }),
  download: same({ type: 'action.download' }),
  downloaded: same({ type: 'action.downloaded' }),
  proceeding: same({ type: 'action.proceeding' }),
  scheduled: same({ type: 'action.proceeding' }),
  resumed: same({ type: 'action.proceeding' }),
};

/** DDI feedback on `cancelAction/{id}/feedback` (ARCHITECTURE.md, second column). */
export const DDI_CANCEL_FEEDBACK: Readonly<Record<DdiExecution, Row>> = {
  closed: {
    success: { type: 'cancel.confirmed' },
    none: { type: 'cancel.confirmed' },
    failure: { type: 'cancel.failed' },
  },
  canceled: same({ type: 'cancel.confirmed' }),
  rejected: same({ type: 'cancel.rejected' }),
  download: same({ type: 'cancel.progress', reported: 'DOWNLOAD' }),
  downloaded: same({ type: 'cancel.progress', reported: 'DOWNLOADED' }),
  proceeding: same({ type: 'cancel.progress', reported: 'CANCELING' }),
  scheduled: same({ type: 'cancel.progress', reported: 'CANCELING' }),
  resumed: same({ type: 'cancel.progress', reported: 'CANCELING' }),
};

export interface DdiFeedbackReport extends ReportFields {
  execution: DdiExecution;
  finished?: DdiFinished | undefined;
}

/** Maps one DDI feedback (`status.execution` + `status.result.finished`) to a core event. */
export function mapDdiFeedback(
  endpoint: DdiFeedbackEndpoint,
  report: DdiFeedbackReport,
): MappingResult {
  const table = endpoint === 'deployment' ? DDI_DEPLOYMENT_FEEDBACK : DDI_CANCEL_FEEDBACK;
  const row = table[report.execution];
  if (!row) return { kind: 'ignored', reason: `unknown execution ${String(report.execution)}` };
  return fromTemplate(row[report.finished ?? 'none'], report);
}

export type DdiConfirmation = 'confirmed' | 'denied';

export const DDI_CONFIRMATION_FEEDBACK: Readonly<Record<DdiConfirmation, EventTemplate>> = {
  confirmed: { type: 'action.confirmed' },
  denied: { type: 'action.denied' },
};

/** Maps `confirmationBase/{id}/feedback`: confirmed -> RUNNING, denied -> stays waiting. */
export function mapDdiConfirmation(
  confirmation: DdiConfirmation,
  report: ReportFields,
): MappingResult {
  const template = DDI_CONFIRMATION_FEEDBACK[confirmation];
  if (!template) return { kind: 'ignored', reason: `unknown confirmation ${String(confirmation)}` };
  return fromTemplate(template, report);
}
