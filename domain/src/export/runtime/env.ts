// Credentials come from the environment, read when a step needs them, so
// that a missing one fails that step with its name, as a missing field of
// a connection does in Switchyard.

import type { Connection } from "./http";
import { validation } from "./run";

/** A secret written into a step in Switchyard, exported as a variable. */
export function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw validation(`set the environment variable ${name}`);
  return value;
}

/** A connection's fields from `<PREFIX>_<FIELD>` variables; unset ones are left out. */
export function connection(kind: string, prefix: string, fields: string[]): Connection {
  const values: { [name: string]: string } = {};
  for (const field of fields) {
    const value = process.env[`${prefix}_${field.toUpperCase()}`];
    if (value !== undefined && value !== "") values[field] = value;
  }
  return { kind, values };
}

/** Required variables that are not set, to warn about at start. */
export function missing(names: string[]): string[] {
  return names.filter((name) => (process.env[name] ?? "") === "");
}
