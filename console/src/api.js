// Calls to the gateway. ingest takes the key as x-api-key, synth as a Bearer token; the
// same key works for both when it holds their scopes. Errors carry the API's own message.
import { currentKey } from "./session.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function headers(service, extra = {}) {
  const key = currentKey();
  const credential = service === "synth" ? { authorization: `Bearer ${key}` } : { "x-api-key": key };
  return { ...credential, ...extra };
}

export async function request(path, { method = "GET", body, service = "ingest", signal, key } = {}) {
  const init = { method, signal, headers: key ? { "x-api-key": key } : headers(service) };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["content-type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "The gateway did not answer; check that Parley is running");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export async function json(path, options) {
  return (await request(path, options)).json();
}

export async function failure(response) {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.error === "string") return new ApiError(response.status, parsed.error);
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiError(response.status, `${response.status} ${response.statusText || "error"}`.trim());
}

// ?a=1&b=2 from an object, leaving out empty values.
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
