// A provider action's request, placed as its declaration says: each field
// into the path, the query, a header or the body (under its own name or
// another, spread, or as the whole body), JSON, form or GraphQL encoded;
// and the custom API call to any path of the provider.

import type { Json } from "./expressions";
import { type Body, type Call, type Endpoint, collectPages, objectOf, type Paging, plainText, resultOf, send } from "./http";
import { prepare } from "./prepare";
import { validation } from "./run";

type Values = { [name: string]: Json };

export type Place =
  | ["path"]
  | ["unsent"]
  | ["query", string]
  | ["header", string]
  | ["body", string]
  | ["spread"]
  | ["whole"];

/** A form field of the action, and where its value goes. */
export interface Field {
  name: string;
  label: string;
  required?: boolean;
  /** The default the editor shows, used when the field is left out. */
  fallback?: Json;
  place: Place;
}

export interface Action {
  /** `<provider>.<action>`, for the code that prepares some actions' values. */
  kind: string;
  method: string;
  path: string;
  encoding: { type: "none" | "json" | "form" } | { type: "graph_ql"; query: string };
  fields: Field[];
  /** Values the preparation computes, and where they go. */
  computed?: [string, Place][];
  paging?: Paging;
  resultAt?: string;
}

/** The field values a step sends: defaults for those left out, empty text dropped, required ones checked. */
export function fieldValues(config: Values, fields: Field[]): Values {
  const values: Values = {};
  for (const { name, label, required, fallback } of fields) {
    const given = config[name];
    if (given === undefined || given === null) {
      if (fallback !== undefined) values[name] = fallback;
    } else if (!(typeof given === "string" && given === "")) {
      values[name] = given;
    }
    if (required === true && !(name in values)) throw validation(`${label} is required`);
  }
  return values;
}

/** Calls the action with the step's evaluated config. */
export async function runAction(endpoint: Endpoint, action: Action, config: Values, key: string): Promise<Json> {
  const values = fieldValues(config, action.fields);
  prepare[action.kind]?.(values);
  const url = endpoint.url(endpoint.path(action.path, values));
  const headers: [string, string][] = [];
  const body: Values = {};
  let whole: Json | undefined;
  const places: [string, string, Place][] = [
    ...action.fields.map((f): [string, string, Place] => [f.name, f.label, f.place]),
    ...(action.computed ?? []).map(([name, place]): [string, string, Place] => [name, name, place]),
  ];
  for (const [name, label, place] of places) {
    if (!(name in values)) continue;
    const value = values[name];
    switch (place[0]) {
      case "query":
        url.searchParams.append(place[1], plainText(value));
        break;
      case "header":
        headers.push([place[1], plainText(value)]);
        break;
      case "body":
        body[place[1]] = value;
        break;
      case "whole":
        whole = value;
        break;
      case "spread":
        if (value === null || typeof value !== "object" || Array.isArray(value)) throw validation(`${label} must be an object of fields`);
        Object.assign(body, value);
        break;
      default:
        break;
    }
  }
  let sent: Body;
  const encoding = action.encoding;
  if (encoding.type === "none") sent = { type: "none" };
  else if (encoding.type === "graph_ql") sent = { type: "json", value: { query: encoding.query, variables: body } };
  else if (encoding.type === "json") sent = { type: "json", value: whole !== undefined ? whole : body };
  else if (whole === undefined) sent = { type: "form", fields: body };
  else if (whole !== null && typeof whole === "object" && !Array.isArray(whole)) sent = { type: "form", fields: whole };
  else throw validation("the body must be an object of form fields");
  const call: Call = { method: action.method, url, headers, body: sent };
  if (action.paging) return collectPages(endpoint, call, action.paging, config.max_items, key);
  return resultOf(await send(endpoint, call, key), action.resultAt);
}

const CUSTOM_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** The custom API call: any path below the provider's base URL, with the connection's credentials. */
export async function customCall(endpoint: Endpoint, config: Values, defaultForm: boolean, key: string): Promise<Json> {
  const text = (name: string) => (typeof config[name] === "string" ? (config[name] as string).trim() : "");
  const method = text("method") === "" ? "GET" : text("method").toUpperCase();
  if (!CUSTOM_METHODS.includes(method)) throw validation(`\`${method}\` is not an HTTP method`);
  const path = text("path");
  if (!path.startsWith("/")) throw validation("the path must start with /");
  const url = endpoint.url(path);
  for (const [name, value] of Object.entries(objectOf(config.query))) url.searchParams.append(name, plainText(value));
  const headers: [string, string][] = Object.entries(objectOf(config.headers)).map(([name, value]) => [name, plainText(value)]);
  const form = text("body_type") === "form" ? true : text("body_type") === "json" ? false : defaultForm;
  const given = config.body ?? null;
  let body: Body;
  if (given === null) body = { type: "none" };
  else if (form && typeof given === "object" && !Array.isArray(given)) body = { type: "form", fields: given };
  else if (form) throw validation("a form body must be an object of fields");
  else body = { type: "json", value: given };
  const reply = await send(endpoint, { method, url, headers, body }, key);
  return { status: reply.status, headers: reply.headers, body: reply.body };
}
