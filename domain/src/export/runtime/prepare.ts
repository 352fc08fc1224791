// What Switchyard computes in code for a few provider actions, where a
// declaration cannot say it: Mailchimp's member hash and data centre,
// Mailchimp's tag objects, SendGrid's nested mail body. Each function
// changes an action's field values before they are placed in the request.

import { createHash } from "node:crypto";
import type { Json } from "./expressions";
import { validation } from "./run";

type Values = { [name: string]: Json };

/** Mailchimp's id for a member: the MD5 of the lower-cased address. */
export function subscriberHash(email: string): string {
  return createHash("md5").update(email.trim().toLowerCase()).digest("hex");
}

function addHash(values: Values) {
  const email = values.email_address;
  if (typeof email !== "string" || !email.includes("@")) throw validation("Email address must be an email address");
  values.subscriber_hash = subscriberHash(email);
}

/** Names given as a list or comma-separated text. */
function names(value: Json | undefined): string[] {
  if (Array.isArray(value)) {
    return value
      .filter((item) => item !== null)
      .map((item) => (typeof item === "string" ? item.trim() : JSON.stringify(item)))
      .filter((name) => name !== "");
  }
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return [];
}

function tagRequest(values: Values) {
  addHash(values);
  const tags: Json[] = [
    ...names(values.tags).map((name) => ({ name, status: "active" })),
    ...names(values.remove_tags).map((name) => ({ name, status: "inactive" })),
  ];
  if (tags.length === 0) throw validation("name at least one tag to add or remove");
  values.tag_objects = tags;
}

/** `a@x, b@y` or `["a@x", "b@y"]` → `[{"email": "a@x"}, …]`. */
function addresses(value: Json | undefined): Json[] {
  const list = Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" ? value.split(",") : [];
  return list.map((a) => a.trim()).filter((a) => a !== "").map((email) => ({ email }));
}

function sendgridMail(values: Values) {
  const to = addresses(values.to);
  if (to.length === 0) throw validation("To needs at least one address");
  const personalization: Values = { to };
  for (const field of ["cc", "bcc"]) {
    const list = addresses(values[field]);
    if (list.length > 0) personalization[field] = list;
  }
  const from: Values = { email: typeof values.from === "string" ? values.from : "" };
  if (typeof values.from_name === "string") from.name = values.from_name;
  // SendGrid wants text/plain before text/html.
  const content: Json[] = [];
  if (typeof values.text === "string") content.push({ type: "text/plain", value: values.text });
  if (typeof values.html === "string") content.push({ type: "text/html", value: values.html });
  if (content.length === 0) throw validation("give the email a text or an HTML body");
  values.personalizations = [personalization];
  values.from_object = from;
  values.content = content;
}

/** By node kind. */
export const prepare: { [kind: string]: (values: Values) => void } = {
  "mailchimp.add_member": addHash,
  "mailchimp.tag_member": tagRequest,
  "sendgrid.send_email": sendgridMail,
};

/** Mailchimp's data centre is what follows the last `-` of the key. */
export function mailchimpDataCentre(values: { [name: string]: string }) {
  if ((values.dc ?? "") !== "") return;
  const key = values.api_key ?? "";
  const at = key.lastIndexOf("-");
  const dc = at < 0 ? "" : key.slice(at + 1);
  if (dc === "" || !/^[A-Za-z0-9]+$/.test(dc)) throw validation("a Mailchimp API key ends in its data centre, such as -us21");
  values.dc = dc;
}

/** By provider id. */
export const derive: { [provider: string]: (values: { [name: string]: string }) => void } = {
  mailchimp: mailchimpDataCentre,
};
