// The conversations list: every List filter, debounced full-text search with highlighted
// snippets, cursor paging. The URL holds the filters and the page token.
import { json, query } from "../api.js";
import { clear, debounce, field, formatDate, h, highlighted, select } from "../dom.js";
import { apiFilters, filterControls, formValues, MAX_LENGTH, urlFilters } from "../filters.js";
import { go, showError } from "../nav.js";

const PAGE_SIZES = ["25", "50", "100", "200"];

export async function renderConversations(main, route) {
  const params = route.params;
  const search = h("input", { id: "q", name: "q", type: "search", value: params.get("q") || "",
    placeholder: "refund, \"billing error\", -test", autocomplete: "off", maxlength: MAX_LENGTH.q });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter conversations" },
    h("div", { class: "search-row" },
      field("Search summaries and insights", search),
      field("Order", select("orderBy", [["", "Newest first"], ["relevance", "Best match first"]],
        params.get("orderBy") || "")),
      field("Per page", select("pageSize", PAGE_SIZES.map((n) => [n, n]), params.get("pageSize") || "50"))),
    h("details", { class: "more", open: hasDetailFilters(params) },
      h("summary", {}, "More filters"),
      h("div", { class: "grid" }, filterControls(params, DETAIL_FILTERS))),
    h("div", { class: "actions" },
      h("button", { type: "submit" }, "Apply"),
      h("a", { href: "#/conversations", class: "button quiet" }, "Clear")));
  const apply = () => go("conversations", formValues(form));  // a new filter starts at the first page
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  form.addEventListener("change", (event) => {
    if (event.target !== search) apply();
  });
  const typed = debounce(apply, 400);
  search.addEventListener("input", typed);
  const heading = h("h2", { id: "results-title", class: "visually-hidden" }, "Results");
  const results = h("section", { "aria-labelledby": "results-title", "aria-busy": "true" },
    heading, h("p", { class: "hint" }, "Loading…"));
  clear(main, h("h1", {}, "Conversations"), form, results);
  document.title = "Conversations · Parley";
  if (params.get("q")) queueMicrotask(() => {
    search.focus();
    search.setSelectionRange(search.value.length, search.value.length);
  });

  const api = { ...apiFilters(params), orderBy: params.get("orderBy") || "",
                pageSize: params.get("pageSize") || "50", pageToken: params.get("pageToken") || "" };
  try {
    const page = await json(`/api/conversations${query(api)}`);
    clear(results, heading, table(page.conversations || [], Boolean(params.get("q"))),
      pager(params, page.nextPageToken));
  } catch (error) {
    clear(results, heading);
    showError(error);
  } finally {
    results.setAttribute("aria-busy", "false");
  }
}

const DETAIL_FILTERS = ["summaryType", "mediaType", "language", "dateCreatedFrom", "dateCreatedTo", "insightType",
  "outcome", "generated", "agentId", "sourceId", "conversationId"];

function hasDetailFilters(params) {
  return DETAIL_FILTERS.some((name) => params.get(name));
}

function table(conversations, searching) {
  if (!conversations.length) return h("p", { class: "empty" }, "No conversations match these filters.");
  return h("table", { class: "list" },
    h("caption", { class: "visually-hidden" }, "Conversations, newest first unless ordered by relevance"),
    h("thead", {}, h("tr", {}, ["Created", "Type", "Media", "Language", "Summary id", "Summary"].map(
      (title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, conversations.map((c) => h("tr", {},
      h("td", { class: "nowrap" }, formatDate(c.dateCreated)),
      h("td", {}, c.summaryType),
      h("td", {}, c.mediaType),
      h("td", {}, c.language),
      h("td", {}, h("a", { href: `#/conversation/${encodeURIComponent(c.summaryId)}` }, c.summaryId)),
      h("td", { class: "summary" }, searching && c.snippet ? highlighted(c.snippet) : clip(c.summary))))));
}

function clip(text, most = 220) {
  return text.length > most ? `${text.slice(0, most)}…` : text;
}

function pager(params, nextToken) {
  const kept = { ...urlFilters(params), orderBy: params.get("orderBy"), pageSize: params.get("pageSize") };
  const first = params.get("pageToken");
  return h("nav", { class: "pager", "aria-label": "Pages" },
    first ? h("a", { href: link(kept) }, "First page") : null,
    nextToken ? h("a", { href: link({ ...kept, pageToken: nextToken }), rel: "next" }, "Next page") : null);
}

function link(params) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
  return `#/conversations${search ? `?${search}` : ""}`;
}
