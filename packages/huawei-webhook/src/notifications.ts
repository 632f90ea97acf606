import { z } from 'zod';

/** The four device-management notification types an NA can subscribe to. */
export const HUAWEI_NOTIFY_TYPES = [
  'swUpgradeStateChangeNotify',
  'swUpgradeResultNotify',
  'fwUpgradeStateChangeNotify',
  'fwUpgradeResultNotify',
] as const;
export const HuaweiNotifyType = z.enum(HUAWEI_NOTIFY_TYPES);
export type HuaweiNotifyType = z.infer<typeof HuaweiNotifyType>;

const id = z.string().min(1).max(256);
const text = z.string().max(4096);

// The platform may add fields in later versions; unknown fields are kept, never a reason to refuse.
const base = {
  deviceId: id,
  appId: z.string().max(256),
  operationId: id,
  subOperationId: id,
};

// The English pages and the SDK DTOs type it String, the Chinese pages `long` (a duration): both come.
const upgradeTime = z.union([z.string().max(64), z.number()]);
// Documented as String; the newer IoTDA reports integer codes, so a number is taken as well.
const errorCode = z.union([z.string().max(64), z.number()]);

/**
 * `swUpgradeState`: downloading | downloaded | updating | idle in the English pages; China Unicom
 * tenants also see `otacreated` and `RequestDownload`. Any string is accepted, core decides.
 */
export const SwUpgradeStateChangeNotify = z.looseObject({
  notifyType: z.literal('swUpgradeStateChangeNotify'),
  ...base,
  swUpgradeState: z.string().min(1).max(64),
});
export type SwUpgradeStateChangeNotify = z.infer<typeof SwUpgradeStateChangeNotify>;

/**
 * The descriptive fields are documented as mandatory, but nothing depends on them: a push that
 * lacks one is still applied rather than refused and re-pushed for ten minutes.
 */
export const SwUpgradeResultNotify = z.looseObject({
  notifyType: z.literal('swUpgradeResultNotify'),
  ...base,
  curVersion: text.optional(),
  targetVersion: text.optional(),
  sourceVersion: text.optional(),
  swUpgradeResult: z.string().min(1).max(64),
  upgradeTime: upgradeTime.optional(),
  resultDesc: text.optional(),
  errorCode: errorCode.optional(),
  description: text.optional(),
});
export type SwUpgradeResultNotify = z.infer<typeof SwUpgradeResultNotify>;

/** LwM2M firmware state `/5/0/3`: `step` "0".."3" and its word in `stepDesc`. */
export const FW_STEPS = {
  '0': 'idle',
  '1': 'downloading',
  '2': 'downloaded',
  '3': 'updating',
} as const;
export type FwStep = keyof typeof FW_STEPS;

export const FwUpgradeStateChangeNotify = z.looseObject({
  notifyType: z.literal('fwUpgradeStateChangeNotify'),
  ...base,
  step: z.string().min(1).max(16),
  stepDesc: text.optional(),
});
export type FwUpgradeStateChangeNotify = z.infer<typeof FwUpgradeStateChangeNotify>;

export const FwUpgradeResultNotify = z.looseObject({
  notifyType: z.literal('fwUpgradeResultNotify'),
  ...base,
  curVersion: text.optional(),
  targetVersion: text.optional(),
  sourceVersion: text.optional(),
  status: z.string().min(1).max(64),
  statusDesc: text.optional(),
  upgradeTime: upgradeTime.optional(),
});
export type FwUpgradeResultNotify = z.infer<typeof FwUpgradeResultNotify>;

/**
 * Each notify type's schema, for a caller that has read `notifyType` already: parsing with the
 * member directly skips the union's dispatch, on every push the receiver takes.
 */
export const HUAWEI_NOTIFICATION_SCHEMAS = {
  swUpgradeStateChangeNotify: SwUpgradeStateChangeNotify,
  swUpgradeResultNotify: SwUpgradeResultNotify,
  fwUpgradeStateChangeNotify: FwUpgradeStateChangeNotify,
  fwUpgradeResultNotify: FwUpgradeResultNotify,
} as const satisfies Record<HuaweiNotifyType, z.ZodType>;

export const HuaweiNotification = z.discriminatedUnion('notifyType', [
  SwUpgradeStateChangeNotify,
  SwUpgradeResultNotify,
  FwUpgradeStateChangeNotify,
  FwUpgradeResultNotify,
]);
export type HuaweiNotification = z.infer<typeof HuaweiNotification>;

/**
 * The upgrade state word a state notification carries: `swUpgradeState`, or for firmware the word
 * of its `step` digit (falling back to `stepDesc` when the digit is unknown). Results give undefined.
 */
export function upgradeStateOf(notification: HuaweiNotification): string | undefined {
  if (notification.notifyType === 'swUpgradeStateChangeNotify') return notification.swUpgradeState;
  if (notification.notifyType === 'fwUpgradeStateChangeNotify') {
    return FW_STEPS[notification.step as FwStep] ?? notification.stepDesc ?? notification.step;
  }
  return undefined;
}

/** `SUCCESS` / `FAIL` from either result notification; states give undefined. */
export function upgradeResultOf(notification: HuaweiNotification): string | undefined {
  if (notification.notifyType === 'swUpgradeResultNotify') return notification.swUpgradeResult;
  if (notification.notifyType === 'fwUpgradeResultNotify') return notification.status;
  return undefined;
}

/**
 * What makes one notification distinct for de-duplication: the type, the sub-task and the state or
 * result it reports. A redelivery carries the same five values. The parts are URI-encoded and
 * joined by `/`, as the refs are: the key is also stored with the action (core's `once`), so it
 * holds no character a database text column refuses.
 */
export function notificationKey(notification: HuaweiNotification): string {
  const what =
    notification.notifyType === 'fwUpgradeStateChangeNotify'
      ? notification.step
      : (upgradeStateOf(notification) ?? upgradeResultOf(notification) ?? '');
  return `${notification.notifyType}/${encodeURIComponent(notification.deviceId)}/${encodeURIComponent(notification.operationId)}/${encodeURIComponent(notification.subOperationId)}/${encodeURIComponent(what)}`;
}
