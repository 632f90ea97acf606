import type { ActionEvent } from './actionEvents.js';

/** The outcome of mapping one protocol report: a core event, or a reason it changes nothing. */
export type MappingResult =
  | { kind: 'event'; event: ActionEvent }
  | { kind: 'ignored'; reason: string };

/** A core event without its report fields; the mapping adds `at`, messages and code. */
export type EventTemplate = ActionEvent extends infer E
  ? E extends ActionEvent
    ? Omit<E, 'at' | 'messages' | 'code'>
    : never
  : never;

export interface ReportFields {
  at: number;
  messages?: string[] | undefined;
  code?: number | undefined;
}

export function fromTemplate(template: EventTemplate, report: ReportFields): MappingResult {
  const event = eventOf(template, report.at);
  if (report.messages && report.messages.length > 0) event.messages = report.messages;
  if (typeof report.code === 'number') event.code = report.code;
  return { kind: 'event', event };
}

/**
 * The template's event at `at`, as a literal per kind of template (same keys, same order as the
 * template followed by `at`): a spread of the template cost most of a mapping's time.
 */
function eventOf(template: EventTemplate, at: number): ActionEvent {
  switch (template.type) {
    case 'action.finished':
      return template.warning === undefined
        ? { type: template.type, result: template.result, at }
        : { type: template.type, result: template.result, warning: template.warning, at };
    case 'cancel.progress':
      return { type: template.type, reported: template.reported, at };
    default:
      return { type: template.type, at };
  }
}
