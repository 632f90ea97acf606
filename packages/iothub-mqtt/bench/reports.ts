/** What the bench parent and its publisher process agree on. */
export const SEQUENCE = [
  'STARTED',
  ...Array.from({ length: 11 }, (_, i) => `DOWNLOADING:${i * 10}`),
  'DOWNLOADED',
  'INSTALLING:0',
  'INSTALLING:50',
  'INSTALLING:100',
  'INSTALLED',
  'FINISHED_SUCCESS',
];

/** The correlationId of device `i`'s action in a run for `tenant`; the bench parent uses it too. */
export const correlationOf = (tenant: string, i: number) => `corr-${tenant}-${i}`;

export type ToPublishers =
  | { type: 'connect'; url: string; ids: string[] }
  | { type: 'prepare'; tenant: string }
  | { type: 'go' }
  | { type: 'stop' };
export type FromPublishers =
  | { type: 'connected' }
  | { type: 'prepared'; bytes: number }
  | { type: 'published' }
  | { type: 'error'; message: string };
