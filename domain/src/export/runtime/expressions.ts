// Switchyard's expressions, as the exported code evaluates them: the same
// strict paths (a missing one is an error naming it), truthiness, text
// formatting (true, null, JSON for lists and objects, keys in order),
// arithmetic and the filters and tests the workflow uses.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class ExpressionError extends Error {}

function fail(message: string): never {
  throw new ExpressionError(message);
}

function isObject(value: Json): value is { [key: string]: Json } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function kind(value: Json): string {
  if (value === null) return "none";
  if (Array.isArray(value)) return "sequence";
  if (typeof value === "object") return "map";
  return typeof value;
}

/** Keys in the order Switchyard keeps them (sorted). */
export function keys(value: { [key: string]: Json }): string[] {
  return Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `base.key`, strictly: a missing key is an error naming the path. */
export function attr(base: Json, key: string, path: string): Json {
  if (isObject(base) && Object.prototype.hasOwnProperty.call(base, key)) return base[key];
  return fail(`\`${path}.${key}\` is not defined: \`${path}\` has no \`${key}\``);
}

/** `base[index]`: lists by position (negative from the end), maps by key. */
export function item(base: Json, index: Json, path: string): Json {
  if (Array.isArray(base) && typeof index === "number" && Number.isInteger(index)) {
    const at = index < 0 ? base.length + index : index;
    if (at >= 0 && at < base.length) return base[at];
  } else if (typeof base === "string" && typeof index === "number" && Number.isInteger(index)) {
    const chars = Array.from(base);
    const at = index < 0 ? chars.length + index : index;
    if (at >= 0 && at < chars.length) return chars[at];
  } else if (isObject(base) && typeof index === "string" && Object.prototype.hasOwnProperty.call(base, index)) {
    return base[index];
  }
  return fail(`\`${path}[${text(index)}]\` is not defined`);
}

export function slice(value: Json, start: Json, stop: Json, step: Json): Json {
  const by = step === null ? 1 : (step as number);
  const items: Json[] = typeof value === "string" ? Array.from(value) : Array.isArray(value) ? value : fail(`cannot slice a ${kind(value)}`);
  const length = items.length;
  const clamp = (n: Json, fallback: number) => {
    if (n === null) return fallback;
    const m = (n as number) < 0 ? length + (n as number) : (n as number);
    return Math.min(Math.max(m, by < 0 ? -1 : 0), by < 0 ? length - 1 : length);
  };
  const out: Json[] = [];
  if (by > 0) {
    for (let i = clamp(start, 0); i < clamp(stop, length); i += by) out.push(items[i]);
  } else {
    for (let i = clamp(start, length - 1); i > clamp(stop, -1); i += by) out.push(items[i]);
  }
  return typeof value === "string" ? out.join("") : out;
}

export function truthy(value: Json): boolean {
  if (value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function number(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "inf" : "-inf";
  return String(value);
}

/** JSON as Switchyard writes it: compact, keys in order. */
export function json(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(json).join(",")}]`;
  if (isObject(value)) return `{${keys(value).map((k) => `${JSON.stringify(k)}:${json(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/** A value written into text. */
export function text(value: Json): string {
  if (value === null) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return number(value);
  return json(value);
}

/** A value that is known to be a float: `2.0`, not `2`. */
export function floatText(value: Json): string {
  return typeof value === "number" && Number.isInteger(value) ? `${value}.0` : text(value);
}

function numeric(value: Json, op: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  return fail(`tried to use ${op} operator on unsupported types ${kind(value)}`);
}

export function add(a: Json, b: Json): Json {
  if (typeof a === "string" && typeof b === "string") return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return numeric(a, "+") + numeric(b, "+");
}

export const sub = (a: Json, b: Json): Json => numeric(a, "-") - numeric(b, "-");
export const mul = (a: Json, b: Json): Json => {
  if (typeof a === "string" && typeof b === "number") return a.repeat(Math.max(0, b));
  return numeric(a, "*") * numeric(b, "*");
};
export const div = (a: Json, b: Json): Json => {
  if (numeric(b, "/") === 0) fail("tried to divide by zero");
  return numeric(a, "/") / numeric(b, "/");
};
export const floorDiv = (a: Json, b: Json): Json => {
  if (numeric(b, "//") === 0) fail("tried to divide by zero");
  return Math.floor(numeric(a, "//") / numeric(b, "//"));
};
export const rem = (a: Json, b: Json): Json => {
  const d = numeric(b, "%");
  if (d === 0) fail("tried to divide by zero");
  const r = numeric(a, "%") % d;
  return r !== 0 && r < 0 !== d < 0 ? r + d : r;
};
export const pow = (a: Json, b: Json): Json => numeric(a, "**") ** numeric(b, "**");
export const neg = (a: Json): Json => -numeric(a, "-");
export const concat = (a: Json, b: Json): Json => text(a) + text(b);

export function eq(a: Json, b: Json): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = keys(a);
    return ka.length === keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && eq(a[k], b[k]));
  }
  if (typeof a === "boolean" && typeof b === "number") return (a ? 1 : 0) === b;
  if (typeof b === "boolean" && typeof a === "number") return (b ? 1 : 0) === a;
  return a === b;
}

export function cmp(a: Json, b: Json, op: string): boolean {
  const ordered =
    (typeof a === "number" || typeof a === "boolean") && (typeof b === "number" || typeof b === "boolean")
      ? [Number(a), Number(b)]
      : typeof a === "string" && typeof b === "string"
        ? [a, b]
        : fail(`tried to use ${op} operator on unsupported types ${kind(a)} and ${kind(b)}`);
  const [x, y] = ordered as [number | string, number | string];
  switch (op) {
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    default:
      return x >= y;
  }
}

export function contains(container: Json, value: Json): boolean {
  if (typeof container === "string") return typeof value === "string" && container.includes(value);
  if (Array.isArray(container)) return container.some((x) => eq(x, value));
  if (isObject(container)) return typeof value === "string" && Object.prototype.hasOwnProperty.call(container, value);
  return fail(`cannot perform a containment check on ${kind(container)}`);
}

/** A part that may be undefined (a missing path): `default`, `is defined`. */
export function defined(read: () => Json): Json | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof ExpressionError && error.message.includes("is not defined")) return undefined;
    throw error;
  }
}

export function list(value: Json): Json[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return Array.from(value);
  if (isObject(value)) return keys(value);
  return fail(`cannot convert ${kind(value)} to a list`);
}

function printf(spec: string, args: Json[]): string {
  let next = 0;
  return spec.replace(/%(\.(\d+))?([sdf%])/g, (_, _p, precision, type) => {
    if (type === "%") return "%";
    const value = args[next++] ?? null;
    if (type === "s") return text(value);
    if (type === "d") return String(Math.trunc(numeric(value, "%d")));
    return numeric(value, "%f").toFixed(precision === undefined ? 6 : Number(precision));
  });
}

function round(value: Json, precision: Json): number {
  const p = precision === null ? 0 : (precision as number);
  const v = numeric(value, "round");
  const scaled = v * 10 ** p;
  const floor = Math.floor(scaled);
  // An exact tie goes to the even neighbour, as Switchyard's formatting
  // rounds; anything else to the nearest.
  if (scaled - floor === 0.5) return (floor % 2 === 0 ? floor : floor + 1) / 10 ** p;
  return Number(v.toFixed(p));
}

/** The filters exported workflows may use. */
export const filters: { [name: string]: (value: Json, ...args: Json[]) => Json } = {
  lower: (v) => text(v).toLowerCase(),
  upper: (v) => text(v).toUpperCase(),
  trim: (v, chars) => (chars === undefined || chars === null ? text(v).trim() : trimChars(text(v), text(chars))),
  title: (v) => text(v).replace(/\w+/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (v) => {
    const s = text(v);
    return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1).toLowerCase();
  },
  length: (v) => (typeof v === "string" ? Array.from(v).length : Array.isArray(v) ? v.length : isObject(v) ? Object.keys(v).length : fail(`cannot calculate the length of ${kind(v)}`)),
  first: (v) => list(v)[0] ?? null,
  last: (v) => {
    const l = list(v);
    return l.length === 0 ? null : l[l.length - 1];
  },
  reverse: (v) => (typeof v === "string" ? Array.from(v).reverse().join("") : [...list(v)].reverse()),
  list: (v) => list(v),
  join: (v, sep) => list(v).map(text).join(sep === undefined || sep === null ? "" : text(sep)),
  split: (v, sep) => (sep === undefined || sep === null ? text(v).split(/\s+/).filter((s) => s.length > 0) : text(v).split(text(sep))),
  replace: (v, from, to) => text(v).split(text(from)).join(text(to)),
  string: (v) => text(v),
  int: (v) => (typeof v === "string" ? (Number.isNaN(parseInt(v, 10)) ? 0 : parseInt(v, 10)) : Math.trunc(numeric(v, "int"))),
  float: (v) => (typeof v === "string" ? (Number.isNaN(parseFloat(v)) ? 0 : parseFloat(v)) : numeric(v, "float")),
  abs: (v) => Math.abs(numeric(v, "abs")),
  round: (v, precision) => round(v, precision ?? null),
  sum: (v) => list(v).reduce<number>((total, x) => total + numeric(x, "+"), 0),
  min: (v) => list(v).reduce<Json>((m, x) => (m === null || cmp(x, m, "<") ? x : m), null),
  max: (v) => list(v).reduce<Json>((m, x) => (m === null || cmp(x, m, ">") ? x : m), null),
  unique: (v) => list(v).filter((x, i, all) => all.findIndex((y) => eq(x, y)) === i),
  sort: (v) => [...list(v)].sort((a, b) => (eq(a, b) ? 0 : cmp(a, b, "<") ? -1 : 1)),
  items: (v) => (isObject(v) ? keys(v).map((k) => [k, v[k]]) : fail(`cannot get the items of ${kind(v)}`)),
  tojson: (v) => pretty(v),
  format: (v, ...args) => printf(text(v), args),
};

function trimChars(s: string, chars: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && chars.includes(s[start])) start++;
  while (end > start && chars.includes(s[end - 1])) end--;
  return s.slice(start, end);
}

/** `tojson`: JSON with `": "` and `", "`, as Switchyard writes it there. */
function pretty(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(pretty).join(", ")}]`;
  if (isObject(value)) return `{${keys(value).map((k) => `${JSON.stringify(k)}: ${pretty(value[k])}`).join(", ")}}`;
  return JSON.stringify(value);
}

/** `default`: the fallback when the value is missing (or falsy, with `true`). */
export function orDefault(read: () => Json, fallback: Json = "", boolean: Json = false): Json {
  const value = defined(read);
  if (value === undefined) return fallback;
  if (boolean === true && !truthy(value)) return fallback;
  return value;
}

/** The tests exported workflows may use. */
export const tests: { [name: string]: (value: Json, ...args: Json[]) => boolean } = {
  none: (v) => v === null,
  number: (v) => typeof v === "number",
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  mapping: (v) => isObject(v),
  sequence: (v) => Array.isArray(v) || typeof v === "string",
  true: (v) => v === true,
  false: (v) => v === false,
  odd: (v) => numeric(v, "odd") % 2 !== 0,
  even: (v) => numeric(v, "even") % 2 === 0,
  divisibleby: (v, n) => numeric(v, "divisibleby") % numeric(n, "divisibleby") === 0,
  startingwith: (v, prefix) => text(v).startsWith(text(prefix)),
  endingwith: (v, suffix) => text(v).endsWith(text(suffix)),
  in: (v, container) => contains(container, v),
};

/** A map literal, keys written as text. */
export function map(entries: [Json, Json][]): Json {
  const out: { [key: string]: Json } = {};
  for (const [k, v] of entries) out[text(k)] = v;
  return out;
}

/** `{% for x in items %}`: the body once per item, with `loop`. */
export function each(items: Json, body: (item: Json, loop: Json) => string, otherwise: () => string): string {
  const all = list(items);
  if (all.length === 0) return otherwise();
  return all
    .map((x, i) => body(x, { index: i + 1, index0: i, first: i === 0, last: i === all.length - 1, length: all.length }))
    .join("");
}

/** `a and b`: `a` when it is falsy, else `b`. */
export function and(a: Json, b: () => Json): Json {
  return truthy(a) ? b() : a;
}

/** `a or b`: `a` when it is truthy, else `b`. */
export function or(a: Json, b: () => Json): Json {
  return truthy(a) ? a : b();
}

/** `range(n)`, `range(start, stop[, step])`. */
export function range(a: Json, b: Json = null, step: Json = 1): Json[] {
  const [start, stop] = b === null ? [0, numeric(a, "range")] : [numeric(a, "range"), numeric(b, "range")];
  const by = numeric(step, "range");
  const out: Json[] = [];
  for (let i = start; by > 0 ? i < stop : i > stop; i += by) {
    if (out.length >= 10_000) fail("range has too many elements");
    out.push(i);
  }
  return out;
}
