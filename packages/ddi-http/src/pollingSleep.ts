import { DdiError } from './DdiError.js';

const HMS = /^(\d{1,3}):([0-5]\d):([0-5]\d)$/;
const ISO =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses `config.polling.sleep` to milliseconds: hawkBit's `HH:mm:ss`, or the ISO-8601 duration it
 * sends for a day or more (`PT24H`, `P1DT2H`).
 */
export function parsePollingSleep(text: string): number {
  const hms = HMS.exec(text);
  if (hms) return (Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3])) * 1000;
  const iso = ISO.exec(text);
  if (iso && text !== 'P' && !text.endsWith('T')) {
    const [, w, d, h, m, s] = iso.map((v) => (v === undefined ? 0 : Number(v)));
    return Math.round(
      ((((w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 3600 + (m ?? 0) * 60 + (s ?? 0)) * 1000,
    );
  }
  throw new DdiError(
    'INVALID_SLEEP',
    `polling sleep ${JSON.stringify(text)} is neither HH:mm:ss nor an ISO-8601 duration`,
  );
}

/** Formats milliseconds as hawkBit does: `HH:mm:ss` below a day, ISO-8601 from a day on. */
export function formatPollingSleep(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  if (total >= 86_400)
    return `PT${Math.floor(total / 3600)}H${Math.floor((total % 3600) / 60)}M${total % 60}S`;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
}
