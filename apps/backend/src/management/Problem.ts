import { OtaflowError } from '@otaflow/core';
import { type HawkbitErrorKind, hawkbitErrorBody } from '@otaflow/ddi-http';
import type { z } from 'zod';
import { BackendError } from '../BackendError.js';
import { QueryError } from '../query.js';

/**
 * An answer that ends a request early: endpoints throw it, the router writes it. It is an answer,
 * not a failure, so it is no `Error` (and carries no stack).
 */
export class Problem {
  constructor(
    readonly status: number,
    /** hawkBit's ExceptionInfo; none for an empty answer or a Spring-level one. */
    readonly body?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
    /** Spring-level errors (401, 404 of a path, 405, 406, 413, 415) use Spring Boot's body. */
    readonly spring = false,
  ) {}
}

/** hawkBit's own error answer, from the shared catalogue. */
export function hawkbitProblem(
  status: number,
  kind: HawkbitErrorKind,
  message: string,
  info?: Record<string, unknown>,
  headers?: Record<string, string>,
): Problem {
  return new Problem(status, { ...hawkbitErrorBody(kind, message, info) }, headers);
}

export const notFound = (type: string, id: string | number): Problem =>
  hawkbitProblem(404, 'notFound', `${type} with given identifier {${id}} does not exist.`, {
    type,
    entityId: String(id),
  });

export const springProblem = (status: number, headers: Record<string, string> = {}): Problem =>
  new Problem(status, undefined, headers, true);

export const emptyProblem = (status: number): Problem => new Problem(status);

export const alreadyExists = (message = 'The given entity already exists in database'): Problem =>
  hawkbitProblem(409, 'exists', message);

export const notReadable = (): Problem =>
  hawkbitProblem(400, 'notReadable', 'The given request body is not well formed');

export function constraintViolation(error: z.ZodError): Problem {
  const message = error.issues.map((i) => `${i.path.join('.') || 'body'} ${i.message}.`).join(', ');
  return hawkbitProblem(400, 'constraint', message);
}

/** The query engine's refusals carry hawkBit's codes already; their class is the sort one. */
const QUERY_KINDS: Record<QueryError['errorCode'], HawkbitErrorKind> = {
  'hawkbit.server.error.rest.param.rsqlParamSyntax': 'rsqlSyntax',
  'hawkbit.server.error.rest.param.rsqlInvalidField': 'rsqlInvalidField',
  'hawkbit.server.error.rest.param.sortParamSyntax': 'sortSyntax',
  'hawkbit.server.error.rest.param.invalidField': 'invalidField',
  'hawkbit.server.error.rest.param.invalidDirection': 'invalidDirection',
};

/**
 * The answer for an error an endpoint let through: its own problem, a query refusal, or a core
 * refusal in hawkBit's words; undefined for a real failure (the router logs it and answers 500).
 */
export function problemOf(error: unknown): Problem | undefined {
  if (error instanceof Problem) return error;
  if (error instanceof QueryError)
    return hawkbitProblem(400, QUERY_KINDS[error.errorCode], error.message);
  if (error instanceof BackendError) {
    if (error.code === 'ROLLOUT_NOT_FOUND')
      return hawkbitProblem(404, 'notFound', error.message, { type: 'Rollout' });
    if (error.code === 'ROLLOUT_ILLEGAL_STATE')
      return hawkbitProblem(400, 'rolloutIllegalState', error.message);
    return undefined;
  }
  if (!(error instanceof OtaflowError)) return undefined;
  const details = error.message;
  switch (error.code) {
    case 'TARGET_NOT_FOUND':
      return hawkbitProblem(404, 'notFound', details, { type: 'Target' });
    case 'ACTION_NOT_FOUND':
      return hawkbitProblem(404, 'notFound', details, { type: 'Action' });
    case 'DISTRIBUTION_SET_NOT_FOUND':
      return hawkbitProblem(404, 'notFound', details, { type: 'DistributionSet' });
    case 'SOFTWARE_MODULE_NOT_FOUND':
      return hawkbitProblem(404, 'notFound', details, { type: 'SoftwareModule' });
    case 'TARGET_EXISTS':
      return alreadyExists();
    case 'CONFLICT':
      return hawkbitProblem(409, 'concurrent', details);
    case 'INVALID_INPUT':
      return hawkbitProblem(400, 'constraint', details);
    case 'LOCKED':
      return hawkbitProblem(423, 'locked', details);
    case 'DELETED':
      return hawkbitProblem(404, 'deleted', details);
    case 'INVALID_DISTRIBUTION_SET':
      return hawkbitProblem(400, 'dsInvalid', details);
    case 'ACTION_NOT_DELETABLE':
      return hawkbitProblem(405, 'notDeletable', details);
    case 'QUOTA_EXCEEDED':
      return hawkbitProblem(429, 'quota', details);
    default:
      return undefined;
  }
}
