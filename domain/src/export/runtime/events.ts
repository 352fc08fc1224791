// The entry point of a workflow started by events: `POST /events` with
// `{"type", "source", "data"}`, as Switchyard's /api/v1/events takes them.
// An event of the workflow's type whose filter holds starts a run; the
// answer (201) lists the runs it started: one, or none.

import * as http from "node:http";
import type { Json } from "./expressions";

type Event = { [key: string]: Json };
type Start = (delivery: { payload: Json }) => Promise<{ executionId: string }>;

const MAX_BODY = 1024 * 1024;

function answer(res: http.ServerResponse, status: number, body: Json) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function refuse(res: http.ServerResponse, status: number, code: string, message: string, field?: string) {
  const error: { [key: string]: Json } = { code, message };
  if (field !== undefined) error.fields = [{ field, message }];
  answer(res, status, { error });
}

export function serveEvents(type: Json, filter: (event: Event) => boolean, start: Start, port: number, host?: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== "POST" || !(req.url ?? "").startsWith("/events")) return refuse(res, 404, "not_found", "POST events to /events");
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return refuse(res, 413, "payload_too_large", `an event may be at most ${MAX_BODY} bytes`);
      let event: Json;
      try {
        event = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
      } catch (error) {
        return refuse(res, 400, "invalid_json", `the body is not JSON: ${(error as Error).message}`);
      }
      if (event === null || typeof event !== "object" || Array.isArray(event)) return refuse(res, 400, "invalid", "an event is an object", "type");
      if (typeof event.type !== "string" || event.type.trim() === "") return refuse(res, 422, "invalid", "the event needs a type", "type");
      const payload: Event = { type: event.type, source: event.source ?? null, data: event.data ?? null };
      let matches: boolean;
      try {
        matches = payload.type === type && filter(payload);
      } catch (error) {
        matches = false;
        console.error(`the filter could not be evaluated: ${(error as Error).message}`);
      }
      if (!matches) return answer(res, 201, { type: payload.type, started: [] });
      start({ payload }).then(
        (run) => answer(res, 201, { type: payload.type, started: [run.executionId] }),
        (error: unknown) => refuse(res, 500, "internal", (error as Error).message),
      );
    });
  });
  return new Promise((resolve) => server.listen(port, host ?? "0.0.0.0", () => resolve(server)));
}
