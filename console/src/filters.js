// The List filters, shared by the conversations list and the analytics page. In the URL
// they carry the API's own names; dates are whole days there (YYYY-MM-DD, both ends
// included) and become the API's instants here (from inclusive, to exclusive, in UTC).
import contract from "@generated/contract.json";
import { field, h, select } from "./dom.js";

// The contract's own values (proto/, rendered by `python -m services.common.contract`).
export const { summaryType: SUMMARY_TYPES, mediaType: MEDIA_TYPES, insightType: INSIGHT_TYPES } = contract.enums;
export const MAX_LENGTH = contract.maxLength;
export const OUTCOMES = ["Resolved", "Unresolved", "Escalated"];

const TEXT = ["q", "language", "agentId", "sourceId", "conversationId", "outcome"];
const CHOICES = ["summaryType", "mediaType", "insightType", "generated"];
const DAYS = ["dateCreatedFrom", "dateCreatedTo"];
export const FILTERS = [...TEXT, ...CHOICES, ...DAYS];

// The filters in `params` (URLSearchParams) as API query parameters.
export function apiFilters(params) {
  const api = {};
  for (const name of [...TEXT, ...CHOICES]) {
    const value = params.get(name);
    if (value) api[name] = value;
  }
  const from = params.get("dateCreatedFrom");
  const to = params.get("dateCreatedTo");
  if (isDay(from)) api.dateCreatedFrom = `${from}T00:00:00Z`;
  if (isDay(to)) api.dateCreatedTo = `${nextDay(to)}T00:00:00Z`;
  return api;
}

export function urlFilters(params) {
  const kept = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) kept[name] = value;
  }
  return kept;
}

export function isDay(value) {
  return /^\d{4}-\d{2}-\d{2}$/.test(value || "") && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
}

export function nextDay(day) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}

export function daysAgo(n) {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() - n);
  return date.toISOString().slice(0, 10);
}

function choice(id, label, values, params, anyText = "Any") {
  return field(label, select(id, [["", anyText], ...values.map((v) => [v, v])], params.get(id) || ""));
}

function text(id, label, params, attrs = {}) {
  return field(label, h("input", { id, name: id, value: params.get(id) || "", autocomplete: "off", ...attrs }));
}

// The filter controls, each named as its URL parameter. `only` picks a subset.
export function filterControls(params, only = FILTERS) {
  const controls = {
    summaryType: () => choice("summaryType", "Summary type", SUMMARY_TYPES, params),
    mediaType: () => choice("mediaType", "Media type", MEDIA_TYPES, params),
    language: () => text("language", "Language", params, { placeholder: "es, en, pt-BR", maxlength: MAX_LENGTH.language }),
    agentId: () => text("agentId", "Agent", params, { maxlength: MAX_LENGTH.agentId }),
    sourceId: () => text("sourceId", "Source", params, { maxlength: MAX_LENGTH.sourceId }),
    conversationId: () => text("conversationId", "Conversation id", params, { maxlength: MAX_LENGTH.conversationId }),
    insightType: () => choice("insightType", "Has insight", INSIGHT_TYPES, params),
    outcome: () => text("outcome", "Outcome", params, { list: "outcomes", maxlength: MAX_LENGTH.outcome }),
    generated: () => field("Generated", select("generated", [["", "Any"], ["true", "Generated only"],
      ["false", "Written only"]], params.get("generated") || "")),
    dateCreatedFrom: () => field("Created from", h("input", { id: "dateCreatedFrom", name: "dateCreatedFrom",
      type: "date", value: params.get("dateCreatedFrom") || "" })),
    dateCreatedTo: () => field("Created to (included)", h("input", { id: "dateCreatedTo", name: "dateCreatedTo",
      type: "date", value: params.get("dateCreatedTo") || "" })),
  };
  return [
    h("datalist", { id: "outcomes" }, OUTCOMES.map((v) => h("option", { value: v }))),
    only.filter((name) => controls[name]).map((name) => controls[name]()),
  ];
}

// The form's current values, as URL parameters (empty ones left out).
export function formValues(form) {
  const values = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value === "string" && value.trim()) values[name] = value.trim();
  }
  return values;
}
