// Where the console is (the hash) and how to go elsewhere; the one alert region.
import { ApiError } from "./api.js";
import { clear } from "./dom.js";

const SECTIONS = new Set(["conversations", "conversation", "analytics", "synth"]);

export function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
  const [section = "conversations", ...rest] = path.split("/");
  return { section: SECTIONS.has(section) ? section : "conversations", id: decoded(rest.join("/")),
           params: new URLSearchParams(search) };
}

// A hand-edited link may hold a broken escape (%E0%A4): kept as written, not a blank page.
function decoded(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function go(section, params = {}, id = "") {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)).toString();
  location.hash = `#/${section}${id ? `/${encodeURIComponent(id)}` : ""}${search ? `?${search}` : ""}`;
}

export function showError(error) {
  const alert = document.getElementById("alert");
  if (!error) {
    alert.hidden = true;
    return;
  }
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  clear(alert, message);
  alert.hidden = false;
}

