// The console's shell: sign-in, the sections, and the URL. Every view's state lives in the
// hash (#/conversations?q=refund&mediaType=Call), so a URL can be shared and the back
// button works; the key never goes there.
import "./style.css";
import { clear, h } from "./dom.js";
import { route, showError } from "./nav.js";
import { session, signIn, signOut } from "./session.js";
import { renderAnalytics } from "./views/analytics.js";
import { renderConversation } from "./views/conversation.js";
import { renderConversations } from "./views/conversations.js";
import { renderSynth } from "./views/synth.js";

export const VIEWS = {
  conversations: renderConversations,
  conversation: renderConversation,
  analytics: renderAnalytics,
  synth: renderSynth,
};

let cleanup = null;

async function render() {
  cleanup?.();
  cleanup = null;
  showError(null);
  const main = document.getElementById("main");
  const signedIn = session();
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("who").hidden = !signedIn;
  if (!signedIn) {
    clear(main, signInForm());
    document.title = "Sign in · Parley";
    return;
  }
  document.getElementById("key-name").textContent = `Key: ${signedIn.name}`;
  const current = route();
  for (const link of document.querySelectorAll("#nav a[data-section]")) {
    const here = link.dataset.section === current.section
      || (current.section === "conversation" && link.dataset.section === "conversations");
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  clear(main);
  const notice = document.getElementById("notice");
  notice.textContent = sessionStorage.getItem("parley.notice") || "";
  notice.hidden = !notice.textContent;
  sessionStorage.removeItem("parley.notice");
  try {
    cleanup = (await VIEWS[current.section](main, current)) || null;
  } catch (error) {
    showError(error);
  }
}

function signInForm() {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const status = h("p", { class: "hint", role: "status" });
  const form = h("form", { class: "card sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in to Parley"),
    h("p", {}, "Use an API key with the conversations:read scope at least. It stays in this tab only."),
    h("div", { class: "field" }, h("label", { for: "api-key" }, "API key"), input),
    h("button", { type: "submit" }, "Sign in"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Checking the key…";
    try {
      const signed = await signIn(input.value.trim());
      if (!signed.scopes.includes("conversations:read")) {
        signOut();
        throw new Error("This key lacks the scope conversations:read");
      }
      status.textContent = "";
      render();
    } catch (error) {
      status.textContent = "";
      showError(error);
      input.focus();
    }
  });
  queueMicrotask(() => input.focus());
  return form;
}

document.getElementById("sign-out").addEventListener("click", () => {
  signOut();
  render();
});
window.addEventListener("hashchange", render);
render();
