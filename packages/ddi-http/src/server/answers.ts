import { hash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { DdiError } from '../DdiError.js';
import { etagMatches } from '../http/etagMatches.js';
import { negotiate } from '../http/negotiate.js';
import { sendEmpty, sendJson } from '../http/sendJson.js';
import type { DdiRequest } from './DdiRequest.js';

export const HAL_JSON = 'application/hal+json';
/** What DDI answers, hal+json first as in hawkBit. */
export const DDI_TYPES = [HAL_JSON, 'application/json'] as const;
const HAL_JSON_UTF8 = `${HAL_JSON};charset=UTF-8`;
const JSON_UTF8 = 'application/json;charset=UTF-8';

/** A DDI resource with its ETag; a matching `If-None-Match` gets 304. */
export function sendResource(ctx: DdiRequest, body: unknown): void {
  const { req, res } = ctx;
  const text = JSON.stringify(body);
  // One-shot md5 (no Hash object); the ETag is what it always was.
  const etag = `"0${hash('md5', text, 'hex')}"`;
  if (etagMatches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, ['ETag', etag]);
    res.end();
    return;
  }
  const type = negotiate(req, DDI_TYPES) === 'application/json' ? JSON_UTF8 : HAL_JSON_UTF8;
  res.writeHead(200, [
    'ETag',
    etag,
    'Content-Type',
    type,
    'Content-Length',
    String(Buffer.byteLength(text)),
  ]);
  res.end(text);
}

/** A refusal: hawkBit's ExceptionInfo when it has one, else an empty body. */
export function sendRefusal(res: ServerResponse, error: DdiError): void {
  const status = error.status ?? 500;
  if (error.details) sendJson(res, status, error.details);
  else sendEmpty(res, status);
}
