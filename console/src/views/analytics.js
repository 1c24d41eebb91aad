// Analytics over a date range and filters: volume over time, breakdowns by media type,
// language and summary type, top contact reasons with their resolved share, and the agents
// with the most summaries. A click on a bar opens the list with that filter added.
import { json, query } from "../api.js";
import { barChart } from "../charts.js";
import { clear, h } from "../dom.js";
import { apiFilters, daysAgo, filterControls, formValues, isDay, nextDay, urlFilters } from "../filters.js";
import { go } from "../nav.js";

const RANGE_FILTERS = ["dateCreatedFrom", "dateCreatedTo", "mediaType", "language", "summaryType", "sourceId",
  "generated"];

export async function renderAnalytics(main, route) {
  const params = new URLSearchParams(route.params);
  if (!params.get("dateCreatedFrom")) params.set("dateCreatedFrom", daysAgo(29));
  if (!params.get("dateCreatedTo")) params.set("dateCreatedTo", daysAgo(0));
  const form = h("form", { class: "filters", "aria-label": "Analytics range and filters" },
    h("div", { class: "grid" }, filterControls(params, RANGE_FILTERS)),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"),
      h("a", { href: "#/analytics", class: "button quiet" }, "Last 30 days, no filters")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go("analytics", formValues(form));
  });
  form.addEventListener("change", () => go("analytics", formValues(form)));
  const total = h("p", { class: "total", role: "status" }, "Loading…");
  const board = h("div", { class: "board", "aria-busy": "true" });
  clear(main, h("h1", {}, "Analytics"), form, total, board);
  document.title = "Analytics · Parley";

  const filters = apiFilters(params);
  const bucket = bucketFor(params.get("dateCreatedFrom"), params.get("dateCreatedTo"));
  const stats = (groupBy, limit = 20) => json(`/api/conversations:stats${query({ ...filters, groupBy, limit })}`);
  const [volume, media, languages, types, agents, reasons] = await Promise.all([
    stats(bucket, 1000), stats("mediaType"), stats("language", 12), stats("summaryType"),
    stats("agentId", 10), json(`/api/insights:top${query({ ...filters, type: "Reason", limit: 10 })}`)]);
  total.textContent = `${volume.total.toLocaleString()} summaries from ${params.get("dateCreatedFrom")} to `
    + `${params.get("dateCreatedTo")}`;
  const kept = urlFilters(params);
  const list = (extra) => go("conversations", { ...kept, ...extra });
  const charts = [
    barChart({ id: "chart-volume", title: `Summaries by ${bucket}`, rows: groups(volume),
      onPick: (row) => list(bucketRange(row.label, bucket, params)) }),
    barChart({ id: "chart-media", title: "By media type", rows: groups(media),
      onPick: (row) => list({ mediaType: row.label }) }),
    barChart({ id: "chart-language", title: "By language", rows: groups(languages),
      onPick: (row) => list({ language: row.label }) }),
    barChart({ id: "chart-type", title: "By summary type", rows: groups(types),
      onPick: (row) => list({ summaryType: row.label }) }),
    barChart({ id: "chart-reasons", title: "Top contact reasons", horizontal: true, valueLabel: "Conversations",
      rows: (reasons.insights || []).map((i) => ({ label: i.title, value: i.count,
        note: `${Math.round(i.resolvedShare * 100)}% resolved` })),
      onPick: (row) => list({ q: `"${row.label.replaceAll('"', "")}"`, insightType: "Reason" }) }),
    barChart({ id: "chart-agents", title: "Agents with the most summaries", horizontal: true,
      rows: groups(agents).filter((row) => row.label), onPick: (row) => list({ agentId: row.label }) }),
  ];
  board.replaceChildren(...charts.map(([figure]) => figure));
  board.setAttribute("aria-busy", "false");
  return () => charts.forEach(([, destroy]) => destroy());
}

function groups(answer) {
  return (answer.groups || []).map((g) => ({ label: g.key, value: g.count }));
}

// Days for up to two months, weeks up to a year and a half, months beyond.
function bucketFor(from, to) {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (!(days >= 0) || days <= 62) return "day";
  return days <= 550 ? "week" : "month";
}

// A time bucket's days, kept within the chosen range.
function bucketRange(first, bucket, params) {
  if (!isDay(first)) return {};
  let end = first;
  if (bucket === "week") for (let i = 0; i < 6; i += 1) end = nextDay(end);
  if (bucket === "month") {
    const date = new Date(`${first}T00:00:00Z`);
    date.setUTCMonth(date.getUTCMonth() + 1, 0);
    end = date.toISOString().slice(0, 10);
  }
  const from = params.get("dateCreatedFrom");
  const to = params.get("dateCreatedTo");
  return { dateCreatedFrom: first < from ? from : first, dateCreatedTo: end > to ? to : end };
}
