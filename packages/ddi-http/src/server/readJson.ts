import type { z } from 'zod';
import { isJsonContentType } from '../http/isJsonContentType.js';
import { readBody } from '../http/readBody.js';
import type { DdiRequest } from './DdiRequest.js';
import { notReadable, refused } from './refusals.js';

/**
 * The request's JSON body, validated: 415 without a JSON type, 413 past the limit (the
 * connection then closes), 400 with hawkBit's body when unreadable. An `optional` body may be
 * absent, and then parses as `{}`.
 */
export async function readJson<S extends z.ZodType>(
  ctx: DdiRequest,
  schema: S,
  optional = false,
): Promise<z.infer<S>> {
  const { req, res } = ctx;
  const length = req.headers['content-length'];
  const hasBody =
    (length !== undefined && Number(length) > 0) || req.headers['transfer-encoding'] !== undefined;
  if (!(optional && !hasBody) && !isJsonContentType(req.headers['content-type'])) {
    res.setHeader('Connection', 'close');
    throw refused(415);
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, ctx.server.maxBodyBytes);
  } catch (error) {
    if ((error as { code?: string }).code === 'BODY_TOO_LARGE') {
      res.setHeader('Connection', 'close');
      throw refused(413);
    }
    throw error;
  }
  if (raw.length === 0 && optional) return schema.parse({});
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw notReadable('The given request body is not well formed');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw notReadable(
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}
