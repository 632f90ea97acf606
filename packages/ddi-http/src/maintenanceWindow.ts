import type { MaintenanceWindow } from '@otaflow/core';
import { DdiError } from './DdiError.js';
import { parsePollingSleep } from './pollingSleep.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

type Field = ((value: number) => boolean) & { any: boolean };

function field(
  text: string,
  min: number,
  max: number,
  names: string[] = [],
  nameBase = min,
): Field {
  const any = text === '*' || text === '?';
  const named = (t: string) => {
    const i = names.indexOf(t.toUpperCase());
    return i >= 0 ? i + nameBase : Number(t);
  };
  const sets: Array<[number, number, number]> = [];
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = named(a);
      hi = named(b);
    } else {
      lo = named(range);
      hi = stepText === undefined ? lo : max;
    }
    if (![lo, hi, step].every(Number.isInteger) || step < 1 || lo < min || hi > max) {
      throw new DdiError('INVALID_CRON', `cron field ${JSON.stringify(text)} is not supported`);
    }
    sets.push([lo, hi, step]);
  }
  const match = ((v: number) =>
    sets.some(([lo, hi, step]) => v >= lo && v <= hi && (v - lo) % step === 0)) as Field;
  match.any = any;
  return match;
}

interface Cron {
  second: Field;
  minute: Field;
  hour: Field;
  dayOfMonth: Field;
  month: Field;
  /** Takes 0..6 with 0 = Sunday. */
  dayOfWeek: (d: number) => boolean;
  dowAny: boolean;
  year: Field;
}

/**
 * Parses hawkBit's (Quartz) cron, `sec min hour dom month dow [year]` with Quartz days 1-7 =
 * SUN-SAT, and the 5-field Unix form with days 0-7. `L`, `W` and `#` are not supported.
 */
function parseCron(expression: string): Cron {
  const parts = expression.trim().split(/\s+/);
  const quartz = parts.length === 6 || parts.length === 7;
  if (!quartz && parts.length !== 5)
    throw new DdiError('INVALID_CRON', `cron ${JSON.stringify(expression)} needs 5, 6 or 7 fields`);
  const [sec, min, hour, dom, mon, dow, year] = quartz ? parts : ['0', ...parts];
  const dowField = quartz ? field(dow!, 1, 7, DAYS, 1) : field(dow!, 0, 7, DAYS, 0);
  return {
    second: field(sec!, 0, 59),
    minute: field(min!, 0, 59),
    hour: field(hour!, 0, 23),
    dayOfMonth: field(dom!, 1, 31),
    month: field(mon!, 1, 12, MONTHS, 1),
    dayOfWeek: quartz ? (d) => dowField(d + 1) : (d) => dowField(d) || (d === 0 && dowField(7)),
    dowAny: dowField.any,
    year: field(year ?? '*', 1970, 2199),
  };
}

function parseOffset(zone: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(zone);
  if (!m) throw new DdiError('INVALID_CRON', `time zone ${zone} is not ±HH:MM`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000;
}

function dayMatches(cron: Cron, d: Date): boolean {
  const dom = cron.dayOfMonth(d.getUTCDate());
  const dow = cron.dayOfWeek(d.getUTCDay());
  // Unix rule: with both day fields restricted, either may match.
  if (!cron.dayOfMonth.any && !cron.dowAny) return dom || dow;
  return dom && dow;
}

/**
 * Whether a maintenance window is open at `now`: some start time matched by the cron schedule
 * (in the window's zone offset) lies within the last `duration`.
 */
export function isMaintenanceWindowOpen(window: MaintenanceWindow, now: number): boolean {
  const cron = parseCron(window.schedule);
  const duration = parsePollingSleep(window.duration);
  const local = now + parseOffset(window.timezone);
  const firstMinute = Math.floor((local - duration) / 60_000) * 60_000;
  for (let minute = Math.floor(local / 60_000) * 60_000; minute >= firstMinute; minute -= 60_000) {
    const d = new Date(minute);
    if (
      !cron.minute(d.getUTCMinutes()) ||
      !cron.hour(d.getUTCHours()) ||
      !cron.month(d.getUTCMonth() + 1)
    )
      continue;
    if (!cron.year(d.getUTCFullYear()) || !dayMatches(cron, d)) continue;
    for (let s = 0; s < 60; s++) {
      if (!cron.second(s)) continue;
      const start = minute + s * 1000;
      if (start <= local && local < start + duration) return true;
    }
  }
  return false;
}
