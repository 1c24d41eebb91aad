// The signed-in key lives in sessionStorage only: gone when the tab closes, never in a URL,
// never logged. Its scopes come from GET /api/keys:self.

import { json } from "./api.js";

const STORE = "parley.session";

export function currentKey() {
  return session()?.key ?? "";
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

export async function signIn(key) {
  const answer = await json("/api/keys:self", { key });
  const value = { key, name: answer.key.name, scopes: answer.key.scopes };
  sessionStorage.setItem(STORE, JSON.stringify(value));
  return value;
}

export function signOut() {
  sessionStorage.removeItem(STORE);
}

export function can(scope) {
  return Boolean(session()?.scopes?.includes(scope));
}

// Why an action is disabled, or "" when the key may do it.
export function lacks(scope) {
  return can(scope) ? "" : `This key lacks the scope ${scope}`;
}
