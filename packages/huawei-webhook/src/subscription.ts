import { z } from 'zod';
import { HuaweiNotifyType } from './notifications.js';

const callback = z.string().min(1).max(1024);

/**
 * `POST /iodm/app/sub/v1.1.0/subscribe` body. The REST page spells the URL `callbackUrl`, the
 * official SDKs send `callbackurl`: either is taken, and both only when they agree.
 */
export const SubscribeRequest = z
  .object({
    notifyType: HuaweiNotifyType,
    callbackUrl: callback.optional(),
    callbackurl: callback.optional(),
  })
  .refine((body) => body.callbackUrl !== undefined || body.callbackurl !== undefined, {
    message: 'callbackUrl is required',
    path: ['callbackUrl'],
  })
  .refine(
    (body) => !(body.callbackUrl && body.callbackurl && body.callbackUrl !== body.callbackurl),
    {
      message: 'callbackUrl and callbackurl disagree',
      path: ['callbackurl'],
    },
  );
export type SubscribeRequest = z.infer<typeof SubscribeRequest>;

export function callbackUrlOf(request: SubscribeRequest): string {
  return (request.callbackUrl ?? request.callbackurl) as string;
}

/** An http(s) URL, as the platform takes it; anything else is the platform's error 100222. */
export function isValidCallbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}
