// Generated records as files (JSON Lines, CSV) and, for the Parley-summaries preset, as
// ingest's entities: a Conversation with its Agent and VirtualAgent children and insights
// (as `python -m parley demo` makes them).

export function jsonLines(records) {
  return records.map((record) => JSON.stringify(record)).join("\n") + (records.length ? "\n" : "");
}

// One row per record, one column per top-level field (nested values as JSON). A cell that
// a spreadsheet would run as a formula (= + - @ first) gets a leading apostrophe.
export function csv(records) {
  const columns = [...new Set(records.flatMap((r) => (r && typeof r === "object" && !Array.isArray(r) ? Object.keys(r) : ["value"])))];
  const cell = (value) => {
    let text = value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = records.map((r) => columns.map((c) => cell(r && typeof r === "object" && !Array.isArray(r) ? r[c] : r)));
  return [columns.map(cell), ...rows].map((row) => row.join(",")).join("\r\n") + "\r\n";
}

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const SOURCE = "parley-console";

function stamp(date) {
  return date.toISOString();  // 2025-12-23T15:30:00.000Z, as the spec writes them
}

export function entities(record, language) {
  const parent = `console-${crypto.randomUUID()}`;
  const started = new Date(Date.now() - Math.floor(Math.random() * 30 * 24 * 60) * 60_000);
  const insights = [
    { type: "Reason", title: record.reasonTitle, description: record.reasonDescription },
    { type: "Resolution", title: record.resolutionTitle, description: record.resolutionDescription,
      outcome: record.outcome },
  ];
  if (record.actionItem) insights.push({ type: "ActionItem", title: "Follow-up", description: record.actionItem });
  const common = { mediaType: record.mediaType, language, sourceId: SOURCE, generated: true };
  const made = [{ ...common, summaryType: "Conversation", summaryId: parent, summary: record.summary,
    dateCreated: stamp(started), insights }];
  const children = [["VirtualAgent", record.virtualAgentSummary, null],
    ["Agent", record.agentSummary, `agent-${String(1 + Math.floor(Math.random() * 40)).padStart(2, "0")}`]];
  children.forEach(([kind, summary, agent], n) => {
    if (!summary) return;
    made.push({ ...common, summaryType: kind, summaryId: `${parent}-${kind.toLowerCase()}`, conversationId: parent,
      summary, dateCreated: stamp(new Date(started.getTime() + (2 + 5 * n) * 60_000)), ...(agent ? { agentId: agent } : {}) });
  });
  return made;
}

export { SOURCE };
