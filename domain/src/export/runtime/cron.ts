// Cron schedules as Switchyard runs them. Switchyard parses expressions
// with croner 3 (5 fields, or 6 with seconds first; no year field) and
// finds fire times in an IANA time zone with chrono-tz. This is a port of
// croner's search, quirks included, so that the exported project fires
// exactly when Switchyard would: a fixed time that a daylight-saving gap
// skips fires once, at the end of the gap; one that a repeated hour
// repeats fires once, the first time. Time zones come from Intl (Node's
// ICU), which holds the same IANA database.

/** Why a schedule is refused: the field at fault and what is wrong with it. */
export class ScheduleError extends Error {
  constructor(
    readonly field: "cron" | "timezone",
    message: string,
  ) {
    super(message);
  }
}

/** A parsed schedule: its expression and the zone its fire times are in. */
export interface Cron {
  readonly pattern: Pattern;
  readonly zone: Zone;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------- parsing

// What a value of a field stands for, as croner's bit flags.
const ALL = 1;
/** NTH[n]: the nth such weekday of the month (`FRI#2`). */
const NTH = [0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 5];
const NTH_ANY = NTH[1] | NTH[2] | NTH[3] | NTH[4] | NTH[5];
/** The last such weekday of the month (`5L`, `FRI#L`). */
const LAST = 1 << 6;
/** The weekday closest to this day of the month (`15W`). */
const CLOSEST = 1 << 7;

/** One field of an expression: the values (and kinds of values) it allows. */
class Field {
  readonly flags: number[];
  private readonly features: number;
  /** `L` in the day-of-month field: the last day of the month. */
  lastDay = false;
  /** Whether the field is `*`, alone or stepped, and its step: croner tells fixed times by them. */
  wildcard = false;
  step = 1;

  constructor(
    readonly name: string,
    readonly min: number,
    readonly max: number,
    features = 0,
  ) {
    this.flags = new Array<number>(max + 1).fill(0);
    this.features = features | ALL | LAST;
  }

  has(value: number, flag = ALL): boolean {
    return (this.flags[value] & flag) !== 0;
  }

  /** The first allowed value from `value` on. */
  from(value: number): number | undefined {
    for (let v = value; v <= this.max; v++) if (this.has(v)) return v;
    return undefined;
  }

  /** Whether exactly one value is allowed, written as that one value. */
  fixed(): boolean {
    let count = 0;
    for (let v = this.min; v <= this.max; v++) if (this.has(v)) count++;
    return count === 1 && this.step === 1 && !this.wildcard;
  }

  parse(text: string): void {
    if (text === "*") {
      this.wildcard = true;
      for (let v = this.min; v <= this.max; v++) this.set(v, ALL, text);
      return;
    }
    for (const part of text.split(",")) {
      if (part === "") continue;
      if (part.includes("/")) this.stepped(part);
      else if (part.includes("-")) this.range(part);
      else if (part.includes("W")) this.closest(part);
      else if (part === "L") this.lastDay = true;
      else this.single(part);
    }
  }

  private stepped(part: string): void {
    const flag = this.nth(part);
    const halves = part.split("#")[0].split("/");
    if (halves.length !== 2) throw this.error(part, "write a step as start/step");
    const step = this.number(halves[1], part);
    this.step = step;
    if (step === 0) throw this.error(part, "the step cannot be 0");
    let [start, end] = [this.min, this.max];
    if (halves[0] === "*") {
      this.wildcard = true;
    } else if (halves[0].includes("-")) {
      const bounds = halves[0].split("-");
      if (bounds.length !== 2) throw this.error(part, "write a range as first-last");
      [start, end] = [this.number(bounds[0], part), this.number(bounds[1], part)];
    } else {
      start = this.number(halves[0], part);
    }
    if (start < this.min || end > this.max || start > end) throw this.outOfRange(part);
    for (let value = start; value <= end; value += step) {
      this.set(value, flag, part);
      if (value + step > 0xffff) throw this.error(part, "the step is too large");
    }
  }

  private range(part: string): void {
    const flag = this.nth(part);
    const bounds = part.split("#")[0].split("-");
    if (bounds.length !== 2) throw this.error(part, "write a range as first-last");
    const start = this.number(bounds[0], part);
    const end = this.number(bounds[1], part);
    if (start > end || start < this.min || end > this.max) throw this.outOfRange(part);
    for (let value = start; value <= end; value++) this.set(value, flag, part);
  }

  private closest(part: string): void {
    const day = this.number(part.slice(0, part.indexOf("W")), part);
    if (day < this.min || day > this.max) throw this.outOfRange(part);
    this.set(day, CLOSEST, part);
  }

  private single(part: string): void {
    // `5L` is croner's short form of `5#L`.
    const text = part.endsWith("L") && !part.includes("#") ? part.replaceAll("L", "#L") : part;
    if ((text.includes("#") || text.includes("L")) && (this.features & NTH_ANY) !== NTH_ANY) {
      throw this.error(part, "`#` and `L` after a number are for the day-of-week field");
    }
    const flag = this.nth(text);
    const value = this.number(text.split("#")[0], part);
    if (value < this.min || value > this.max) throw this.outOfRange(part);
    this.set(value, flag, part);
  }

  /** Which occurrence in the month a weekday must be: `#2`, `#L` or `L`, or any. */
  private nth(text: string): number {
    if (text.endsWith("L")) return LAST;
    const hash = text.indexOf("#");
    if (hash < 0) return ALL;
    const n = text.slice(hash + 1);
    if (!/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 5) {
      throw this.error(text, "`#` must be followed by 1 to 5 (or L)");
    }
    return NTH[Number(n)];
  }

  /** A number as croner reads it (an unsigned 16-bit integer). */
  private number(text: string, part: string): number {
    if (!/^\d+$/.test(text) || Number(text) > 0xffff) {
      throw this.error(part, text === "" ? "a number is missing" : `\`${text}\` is not a number`);
    }
    return Number(text);
  }

  private set(value: number, flag: number, part: string): void {
    if (value < this.min || value > this.max) throw this.outOfRange(part);
    if ((this.features & flag) !== flag) throw this.error(part, "this kind of value is not allowed here");
    this.flags[value] |= flag;
  }

  private outOfRange(part: string): ScheduleError {
    return this.error(part, `values must lie within ${this.min}-${this.max}`);
  }

  private error(part: string, detail: string): ScheduleError {
    return cronError(`the ${this.name} field \`${part}\`: ${detail}`);
  }
}

/** A parsed expression. */
export interface Pattern {
  seconds: Field;
  minutes: Field;
  hours: Field;
  days: Field;
  months: Field;
  weekdays: Field;
  /** `*` as day of month or day of week: then only the other one counts. */
  starDays: boolean;
  starWeekdays: boolean;
  /** Both day fields must match (`+` before the day of week) rather than either. */
  bothDays: boolean;
  /** A single second, minute and hour: such a time fires once on days the clocks change. */
  fixedTime: boolean;
}

const cronError = (detail: string) => new ScheduleError("cron", `not a valid cron expression: ${detail}`);

const NICKNAMES: { [name: string]: string } = {
  "@YEARLY": "0 0 1 1 *",
  "@ANNUALLY": "0 0 1 1 *",
  "@MONTHLY": "0 0 1 * *",
  "@WEEKLY": "0 0 * * 0",
  "@DAILY": "0 0 * * *",
  "@HOURLY": "0 * * * *",
};

// Replaced anywhere in the text, in this order, as croner does (`-SUN` ends a range on 7).
const NAMES: [string, string][] = [
  ["-SUN", "-7"],
  ...["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"].map((day, i): [string, string] => [day, `${i}`]),
  ...["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"].map(
    (month, i): [string, string] => [month, `${i + 1}`],
  ),
];

const FIELD_CHARS = "*/0123456789,-";
const EXTRA_CHARS = ["", "", "", "LW?", "", "#L?"];

function parsePattern(cron: string): Pattern {
  let text = cron.toUpperCase().trim();
  if (text === "") throw cronError("the expression is empty");
  if (text.includes("@")) text = NICKNAMES[text] ?? text;
  for (const [name, number] of NAMES) text = text.replaceAll(name, number);
  const parts = text.split(/\s+/);
  if (parts.length === 5) parts.unshift("0");
  if (parts.length !== 6) {
    const count = `${parts.length} field${parts.length === 1 ? "" : "s"}`;
    throw cronError(`it has ${count}; write 5 (minute hour day month weekday) or 6 (second first)`);
  }
  parts[3] = parts[3].replaceAll("?", "*");
  parts[5] = parts[5].replaceAll("?", "*");
  const bothDays = parts[5].startsWith("+");
  if (bothDays) parts[5] = parts[5].slice(1);

  const fields = [
    new Field("second", 0, 59),
    new Field("minute", 0, 59),
    new Field("hour", 0, 23),
    new Field("day-of-month", 1, 31, LAST | CLOSEST),
    new Field("month", 1, 12),
    new Field("day-of-week", 0, 7, LAST | NTH_ANY),
  ];
  parts.forEach((part, i) => {
    const bad = [...part].find((c) => !FIELD_CHARS.includes(c) && !EXTRA_CHARS[i].includes(c));
    if (bad !== undefined) throw cronError(`the ${fields[i].name} field \`${part}\`: \`${bad}\` is not allowed there`);
  });
  parts.forEach((part, i) => fields[i].parse(part));
  const [seconds, minutes, hours, days, months, weekdays] = fields;
  // 7 is Sunday too (but not for `7L`, which croner leaves unmatched).
  for (const flag of [ALL, ...NTH.slice(1)]) {
    if (weekdays.has(7, flag)) {
      weekdays.flags[7] &= ~flag;
      weekdays.flags[0] |= flag;
    }
  }
  return {
    seconds,
    minutes,
    hours,
    days,
    months,
    weekdays,
    starDays: parts[3] === "*",
    starWeekdays: parts[5] === "*",
    bothDays,
    fixedTime: seconds.fixed() && minutes.fixed() && hours.fixed(),
  };
}

// ------------------------------------------------------------ time zones

// chrono-tz knows the IANA names exactly as spelled; ICU also takes other
// spellings and Java's and System V's names, which Switchyard refuses.
const REGIONS = "Africa America Antarctica Arctic Asia Atlantic Australia Brazil Canada Chile Etc Europe Indian Mexico Pacific US";
const SINGLE_NAMES =
  "CET CST6CDT Cuba EET EST EST5EDT Egypt Eire GB GB-Eire GMT GMT+0 GMT-0 GMT0 Greenwich HST Hongkong Iceland Iran " +
  "Israel Jamaica Japan Kwajalein Libya MET MST MST7MDT NZ NZ-CHAT Navajo PRC PST8PDT Poland Portugal ROC ROK " +
  "Singapore Turkey UCT UTC Universal W-SU WET Zulu";

/** An IANA time zone: its offsets from UTC, read from Intl. */
export class Zone {
  private readonly format: Intl.DateTimeFormat;
  /** Offsets by hour since the epoch: offsets change at most once an hour. */
  private readonly hours = new Map<number, { change: number; before: number; after: number }>();

  constructor(readonly name: string) {
    const resolved = canonical(name);
    const named = name.includes("/") ? REGIONS.split(" ").includes(name.split("/")[0]) : SINGLE_NAMES.split(" ").includes(name);
    const cased = name.split("/").every((segment) => /^[A-Z]/.test(segment));
    const sameLetters = resolved !== undefined && resolved !== name && resolved.toLowerCase() === name.toLowerCase();
    if (resolved === undefined || !named || !cased || sameLetters) {
      throw new ScheduleError("timezone", `\`${name}\` is not an IANA time zone such as Europe/Berlin`);
    }
    this.format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  }

  /** Local time minus UTC, in milliseconds, at an instant. */
  offsetAt(instant: number): number {
    const hour = Math.floor(instant / HOUR);
    let span = this.hours.get(hour);
    if (span === undefined) {
      if (this.hours.size > 10_000) this.hours.clear();
      span = this.span(hour * HOUR);
      this.hours.set(hour, span);
    }
    return instant < span.change ? span.before : span.after;
  }

  /**
   * The earliest instant with this wall-clock time: there is one, or none
   * when the clocks skip it (a gap), or two when they repeat it.
   */
  earliest(local: number): number | null {
    const offsets = [this.offsetAt(local - DAY), this.offsetAt(local + DAY)];
    let found: number | null = null;
    // An offset that does not hold at its instant points to the one that does.
    for (let i = 0; i < offsets.length && i < 6; i++) {
      const instant = local - offsets[i];
      const actual = this.offsetAt(instant);
      if (actual === offsets[i]) found = found === null ? instant : Math.min(found, instant);
      else if (!offsets.includes(actual)) offsets.push(actual);
    }
    return found;
  }

  /** The offsets over the hour from `start`, and when in it they change. */
  private span(start: number): { change: number; before: number; after: number } {
    const before = this.measure(start);
    let [low, high] = [start, start + HOUR - SECOND];
    const after = this.measure(high);
    if (before === after) return { change: start, before, after };
    while (high - low > SECOND) {
      const middle = low + Math.floor((high - low) / 2 / SECOND) * SECOND;
      if (this.measure(middle) === before) low = middle;
      else high = middle;
    }
    return { change: high, before, after };
  }

  private measure(instant: number): number {
    const parts: { [type: string]: string } = {};
    for (const part of this.format.formatToParts(instant)) parts[part.type] = part.value;
    const year = parts.era === "BC" ? 1 - Number(parts.year) : Number(parts.year);
    const local = wallClock(year, +parts.month, +parts.day, +parts.hour, +parts.minute, +parts.second);
    return local - instant;
  }
}

function canonical(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Parses an expression and a zone as Switchyard does; throws ScheduleError naming what is wrong. */
export function parse(cron: string, timezone = "UTC"): Cron {
  const pattern = parsePattern(cron);
  return { pattern, zone: new Zone(timezone) };
}

// ----------------------------------------------------------- fire times

// Wall-clock times are numbers like instants, their fields read in UTC
// (chrono's NaiveDateTime); all arithmetic on them is calendar arithmetic.
function wallClock(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

const yearOf = (t: number) => new Date(t).getUTCFullYear();
const monthOf = (t: number) => new Date(t).getUTCMonth() + 1;
const daysIn = (year: number, month: number) => new Date(wallClock(year, month + 1, 0)).getUTCDate();
const startOfDay = (t: number) => Math.floor(t / DAY) * DAY;

/** Croner gives up after year 5000, and so does Switchyard's schedule. */
class Exhausted extends Error {}
const LAST_YEAR = 5000;
const MAX_PASSES = 366 * 24 * 60 * 60;
const MAX_GAP_SECONDS = 7200;

/** The next `unit` from `t`, with the smaller units at zero. */
function advance(t: number, unit: "minute" | "hour" | "day" | "month" | "year"): number {
  const year = yearOf(t);
  if (year >= LAST_YEAR) throw new Exhausted();
  if (unit === "year") return wallClock(year + 1, 1, 1);
  if (unit === "month") return wallClock(year, monthOf(t) + 1, 1);
  const size = unit === "day" ? DAY : unit === "hour" ? HOUR : MINUTE;
  return Math.floor((t + size) / size) * size;
}

function dayMatches(p: Pattern, t: number): boolean {
  const date = new Date(t);
  const [year, month, day, weekday] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay()];
  const length = daysIn(year, month);
  const byDay = p.days.has(day) || (p.days.lastDay && day === length) || closestWeekday(p.days, year, month, day);
  const byWeekday =
    p.weekdays.has(weekday, NTH[Math.floor((day - 1) / 7) + 1]) ||
    (p.weekdays.has(weekday, LAST) && day + 7 > length) ||
    p.weekdays.has(weekday);
  if ((byDay && p.starWeekdays) || (byWeekday && p.starDays)) return true;
  if (p.starDays || p.starWeekdays) return false;
  return p.bothDays ? byDay && byWeekday : byDay || byWeekday;
}

/** `15W`: the weekday closest to the 15th, within the month. */
function closestWeekday(days: Field, year: number, month: number, day: number): boolean {
  const length = daysIn(year, month);
  for (let target = 1; target <= length; target++) {
    if (!days.has(target, CLOSEST)) continue;
    const weekday = new Date(wallClock(year, month, target)).getUTCDay();
    let nearest = target;
    if (weekday === 6) nearest = target > 1 ? target - 1 : target + 2;
    if (weekday === 0) nearest = target < length ? target + 1 : target - 2;
    if (nearest === day) return true;
  }
  return false;
}

function dateMatches(p: Pattern, t: number): boolean {
  const year = yearOf(t);
  return year >= 1 && year <= LAST_YEAR && p.months.has(monthOf(t)) && dayMatches(p, t);
}

function timeMatches(p: Pattern, t: number): boolean {
  const date = new Date(t);
  return p.hours.has(date.getUTCHours()) && p.minutes.has(date.getUTCMinutes()) && p.seconds.has(date.getUTCSeconds());
}

/**
 * Croner's step towards a match: the first allowed date (from midnight if
 * it moved), then hour, minute and second, each the first allowed value
 * from the current one, or on to the next larger unit (and no further).
 */
function align(p: Pattern, t: number): number {
  const dateSteps: [(t: number) => boolean, "year" | "month" | "day"][] = [
    [(t) => yearOf(t) >= 1 && yearOf(t) <= LAST_YEAR, "year"],
    [(t) => p.months.has(monthOf(t)), "month"],
    [(t) => dayMatches(p, t), "day"],
  ];
  for (const [allowed, unit] of dateSteps) {
    if (allowed(t)) continue;
    do t = advance(t, unit);
    while (!allowed(t));
    t = startOfDay(t);
    break;
  }
  const units: [Field, number, number, "day" | "hour" | "minute"][] = [
    [p.hours, HOUR, DAY, "day"],
    [p.minutes, MINUTE, HOUR, "hour"],
    [p.seconds, SECOND, MINUTE, "minute"],
  ];
  for (const [field, size, above, carry] of units) {
    const base = Math.floor(t / above) * above;
    const current = Math.floor((t - base) / size);
    const next = field.from(current);
    if (next === undefined) return advance(t, carry);
    if (next !== current) t = base + next * size;
  }
  return t;
}

/** The first fire time strictly after the instant `cursor` (whole seconds). */
function nextAfter({ pattern: p, zone }: Cron, cursor: number): number {
  let t = cursor + zone.offsetAt(cursor) + SECOND;
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    t = align(p, t);
    const instant = zone.earliest(t);
    if (instant !== null) {
      if (dateMatches(p, t) && timeMatches(p, t)) return instant;
      t += SECOND;
    } else if (p.fixedTime) {
      // A fixed time in a gap fires at the first moment after it, if
      // that is still a day the expression allows.
      let after = t;
      let resolved: number | null = null;
      for (let tries = 1; resolved === null; tries++) {
        after += SECOND;
        resolved = zone.earliest(after);
        if (resolved === null && tries > MAX_GAP_SECONDS) throw new Exhausted();
      }
      if (dateMatches(p, after)) return resolved;
      t = after;
    } else {
      t += SECOND;
    }
  }
  throw new Exhausted();
}

/** Fire times after `afterMs`, in order, until the schedule ends. */
export function* fires(cron: Cron, afterMs: number): Generator<number> {
  // Ticks are on whole seconds; a fraction in `afterMs` would carry into them.
  let cursor = Math.floor(afterMs / SECOND) * SECOND;
  for (;;) {
    try {
      cursor = nextAfter(cron, cursor);
    } catch (error) {
      if (error instanceof Exhausted) return;
      throw error;
    }
    yield cursor;
  }
}

/** The next `count` fire times strictly after `afterMs`, as epoch milliseconds. */
export function nextFires(cron: Cron, afterMs: number, count: number): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  for (const fire of fires(cron, afterMs)) {
    out.push(fire);
    if (out.length >= count) break;
  }
  return out;
}
