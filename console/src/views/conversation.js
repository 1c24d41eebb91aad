// One conversation: its summary and insights, its Agent and VirtualAgent children in time
// order, the raw JSON, and delete (with how many child summaries go with it).
import { json, request } from "../api.js";
import { clear, formatDate, h } from "../dom.js";
import { go, showError } from "../nav.js";
import { lacks } from "../session.js";

export async function renderConversation(main, route) {
  document.title = `${route.id} · Parley`;
  clear(main, h("p", { class: "hint" }, "Loading…"));
  let conversation;
  try {
    conversation = (await json(`/api/conversations/${encodeURIComponent(route.id)}`)).conversation;
  } catch (error) {
    clear(main, h("h1", {}, route.id), h("p", {}, h("a", { href: "#/conversations" }, "Back to conversations")));
    throw error;
  }
  const children = [...(conversation.children || [])].sort((a, b) => a.dateCreated.localeCompare(b.dateCreated));
  clear(main,
    h("p", {}, h("a", { href: "#/conversations" }, "← Conversations")),
    h("div", { class: "title-row" },
      h("h1", {}, `${conversation.summaryType} ${conversation.summaryId}`),
      deleteButton(conversation, children)),
    facts(conversation),
    h("section", { "aria-labelledby": "summary-title" },
      h("h2", { id: "summary-title" }, "Summary"), h("p", { class: "prose" }, conversation.summary)),
    insights(conversation.insights || []),
    conversation.summaryType === "Conversation" ? childList(children) : null,
    h("details", { class: "raw" }, h("summary", {}, "Raw JSON"),
      h("pre", { tabindex: "0" }, JSON.stringify(conversation, null, 2))));
}

function facts(c) {
  const rows = [
    ["Created", formatDate(c.dateCreated)], ["Stored", formatDate(c.createTime)], ["Media", c.mediaType],
    ["Language", c.language], ["Source", c.sourceId], ["Agent", c.agentId], ["Generated", c.generated ? "yes" : "no"],
    ["Genesys conversation id", c.summaryType === "Conversation" ? c.conversationId : null],
  ];
  return h("dl", { class: "facts" },
    rows.filter(([, value]) => value).map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
    c.parentSummaryId ? [h("dt", {}, "Parent"), h("dd", {}, h("a", {
      href: `#/conversation/${encodeURIComponent(c.parentSummaryId)}` }, c.parentSummaryId))] : null);
}

function insights(list) {
  return h("section", { "aria-labelledby": "insights-title" },
    h("h2", { id: "insights-title" }, `Insights (${list.length})`),
    list.length ? h("ul", { class: "insights" }, list.map((insight) => h("li", {},
      h("span", { class: `badge ${insight.type}` }, insight.type),
      h("strong", {}, insight.title),
      insight.outcome ? h("span", { class: "outcome" }, `Outcome: ${insight.outcome}`) : null,
      h("p", {}, insight.description)))) : h("p", { class: "empty" }, "No insights."));
}

function childList(children) {
  return h("section", { "aria-labelledby": "children-title" },
    h("h2", { id: "children-title" }, `Child summaries (${children.length})`),
    children.length ? h("ol", { class: "children" }, children.map((child) => h("li", {},
      h("div", {}, h("span", { class: `badge ${child.summaryType}` }, child.summaryType), " ",
        h("a", { href: `#/conversation/${encodeURIComponent(child.summaryId)}` }, child.summaryId), " · ",
        formatDate(child.dateCreated), child.agentId ? ` · agent ${child.agentId}` : ""),
      h("p", {}, child.summary)))) : h("p", { class: "empty" }, "No Agent or VirtualAgent summaries."));
}

function deleteButton(conversation, children) {
  const reason = lacks("conversations:delete");
  const button = h("button", { type: "button", class: "danger", disabled: Boolean(reason),
    "aria-describedby": reason ? "delete-reason" : undefined }, "Delete…");
  button.addEventListener("click", () => confirmDelete(conversation, children));
  return h("div", { class: "delete" }, button, reason ? h("small", { id: "delete-reason", class: "hint" }, reason) : null);
}

function confirmDelete(conversation, children) {
  const count = conversation.summaryType === "Conversation" ? children.length : 0;
  const what = count === 1 ? "its 1 child summary" : `its ${count} child summaries`;
  const dialog = h("dialog", { "aria-labelledby": "confirm-title", class: "confirm" },
    h("h2", { id: "confirm-title" }, `Delete ${conversation.summaryId}?`),
    h("p", {}, conversation.summaryType === "Conversation"
      ? `This deletes the conversation and ${what}. It cannot be undone.`
      : "This deletes this summary. It cannot be undone."),
    h("form", { method: "dialog", class: "actions" },
      h("button", { value: "cancel", class: "quiet", autofocus: true }, "Cancel"),
      h("button", { value: "delete", class: "danger" }, count ? `Delete ${count + 1} summaries` : "Delete")));
  dialog.addEventListener("close", async () => {
    dialog.remove();
    if (dialog.returnValue !== "delete") return;
    try {
      const path = `/api/conversations/${encodeURIComponent(conversation.summaryId)}`;
      const done = await (await request(path, { method: "DELETE" })).json();
      sessionStorage.setItem("parley.notice", `Deleted ${conversation.summaryId}: ${done.deleted} summaries.`);
      go("conversations");
    } catch (error) {
      showError(error);
    }
  });
  document.body.append(dialog);
  dialog.showModal();
}
