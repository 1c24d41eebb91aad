// Synthetic data: a request (presets for the spec's customer-support conversations and for
// Parley summaries), records shown as they stream in, then JSONL/CSV downloads and, for
// Parley summaries, "send to ingest".
import customerSupport from "../../presets/customer-support.json";
import parleySummaries from "@generated/parley-summaries.json";
import { failure, headers, json, request } from "../api.js";
import { clear, field, h, select } from "../dom.js";
import { MAX_LENGTH } from "../filters.js";
import { showError } from "../nav.js";
import { csv, download, entities, jsonLines, SOURCE } from "../records.js";
import { lacks } from "../session.js";

const PRESETS = {
  "customer-support": { name: "Customer support conversations (the API's example)", ...customerSupport },
  "parley-summaries": { name: "Parley conversation summaries (ready for ingest)", payload: {
    prompt: parleySummaries.prompts.en, count: 5, schema: parleySummaries.schema }, config: {} },
  custom: { name: "Custom", payload: { prompt: "", count: 5, schema: { type: "object", properties: {} } }, config: {} },
};
const BATCH = 100;  // entities a POST to ingest

export async function renderSynth(main) {
  document.title = "Synthetic data · Parley";
  const reason = lacks("synth:generate");
  const ui = form();
  clear(main, h("h1", {}, "Synthetic data"),
    reason ? h("p", { class: "notice", id: "synth-reason" }, `${reason}: generating is disabled.`) : null,
    ui.form, ui.output);
  if (reason) {
    for (const control of ui.form.elements) control.disabled = true;
    return null;
  }
  loadModels(ui).catch(showError);
  let running = null;
  ui.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    running = new AbortController();
    try {
      await generate(ui, running.signal);
    } catch (error) {
      if (error.name !== "AbortError") showError(error);
    } finally {
      running = null;
      ui.submit.disabled = false;
      ui.stop.disabled = true;
    }
  });
  ui.stop.addEventListener("click", () => running?.abort());
  return () => running?.abort();
}

function form() {
  const preset = select("preset", Object.entries(PRESETS).map(([id, p]) => [id, p.name]), "customer-support");
  const language = select("language", Object.entries(parleySummaries.languages), "en");
  const prompt = h("textarea", { id: "prompt", rows: 4, required: true, maxlength: MAX_LENGTH.prompt });
  const count = h("input", { id: "count", type: "number", min: 1, max: 10000, value: 5, required: true });
  const schema = h("textarea", { id: "schema", rows: 14, spellcheck: "false", class: "code" });
  const provider = h("select", { id: "provider" }, h("option", { value: "" }, "Default"));
  const model = h("select", { id: "model" }, h("option", { value: "" }, "Provider's default"));
  const temperature = h("input", { id: "temperature", type: "number", min: 0, max: 2, step: 0.1, value: 0.8 });
  const seed = h("input", { id: "seed", type: "number", min: 0, max: 2147483647, step: 1, placeholder: "random" });
  const submit = h("button", { type: "submit" }, "Generate");
  const stop = h("button", { type: "button", class: "quiet", disabled: true }, "Stop");
  const languageField = field("Language of the summaries", language);
  const theForm = h("form", { class: "synth", "aria-label": "Synthetic data request" },
    h("div", { class: "grid" }, field("Preset", preset), languageField, field("How many records", count),
      field("Provider", provider), field("Model", model), field("Temperature", temperature),
      field("Seed", seed, "The same seed and request give the same records")),
    field("Prompt", prompt),
    field("JSON Schema", schema, "type \"object\" describes one record; type \"array\" the whole result"),
    h("div", { class: "actions" }, submit, stop));
  const progress = h("progress", { id: "progress", max: 1, value: 0, "aria-label": "Records produced" });
  const status = h("p", { id: "synth-status", role: "status" });
  const records = h("ol", { id: "records", class: "records" });
  const after = h("div", { class: "actions", id: "synth-after" });
  const output = h("section", { "aria-labelledby": "records-title" },
    h("h2", { id: "records-title" }, "Records"), progress, status, after, records);
  const ui = { form: theForm, output, preset, language, languageField, prompt, count, schema, provider, model,
    temperature, seed, submit, stop, progress, status, records, after };
  const usePreset = () => {
    const chosen = PRESETS[preset.value];
    languageField.hidden = preset.value !== "parley-summaries";
    prompt.value = preset.value === "parley-summaries" ? parleySummaries.prompts[language.value] : chosen.payload.prompt;
    count.value = chosen.payload.count ?? 5;
    schema.value = JSON.stringify(chosen.payload.schema, null, 2);
    if (chosen.config.temperature !== undefined) temperature.value = chosen.config.temperature;
  };
  preset.addEventListener("change", usePreset);
  language.addEventListener("change", usePreset);
  provider.addEventListener("change", () => fillModels(ui));
  usePreset();
  return ui;
}

let providers = [];

async function loadModels(ui) {
  providers = (await json("/api/v1/models", { service: "synth" })).providers || [];
  clear(ui.provider, providers.map((p) => h("option", { value: p.provider, disabled: !p.reachable },
    p.reachable ? p.provider : `${p.provider} (unreachable: ${p.error})`)));
  const first = providers.find((p) => p.reachable);
  if (first) ui.provider.value = first.provider;
  fillModels(ui);
}

function fillModels(ui) {
  const chosen = providers.find((p) => p.provider === ui.provider.value);
  const models = chosen?.models || [];
  clear(ui.model, h("option", { value: "" }, chosen?.default_model ? `Default (${chosen.default_model})` : "Provider's default"),
    models.map((m) => h("option", { value: m }, m)));
}

function body(ui) {
  let schema;
  try {
    schema = ui.schema.value.trim() ? JSON.parse(ui.schema.value) : undefined;
  } catch (error) {
    throw new Error(`The JSON Schema is not valid JSON: ${error.message}`);
  }
  const config = { provider: ui.provider.value, model: ui.model.value, temperature: Number(ui.temperature.value) };
  if (ui.seed.value !== "") config.seed = Number(ui.seed.value);
  return { payload: { prompt: ui.prompt.value, count: Number(ui.count.value), ...(schema ? { schema } : {}) }, config };
}

async function generate(ui, signal) {
  const asked = body(ui);
  const made = [];
  ui.submit.disabled = true;
  ui.stop.disabled = false;
  ui.progress.max = asked.payload.count;
  ui.progress.value = 0;
  ui.status.textContent = "Asking the model…";
  ui.records.replaceChildren();
  ui.after.replaceChildren();
  const response = await fetch("/api/v1/synthetic-data:stream", { method: "POST", signal, body: JSON.stringify(asked),
    headers: headers("synth", { "content-type": "application/json" }) });
  if (!response.ok) throw await failure(response);
  for await (const event of lines(response.body)) {
    if (event.record) {
      made.push(event.record.data);
      ui.progress.value = event.record.produced;
      ui.status.textContent = `${event.record.produced} of ${event.record.requested} records`;
      ui.records.append(h("li", {}, h("pre", { tabindex: "0" }, JSON.stringify(event.record.data, null, 2))));
    } else if (event.error) {
      throw new Error(event.error.message);
    } else if (event.done) {
      const { usage = {}, metadata = {} } = event.done;
      ui.status.textContent = `${metadata.count ?? made.length} of ${metadata.requested ?? made.length} records `
        + `from ${event.done.provider} ${event.done.model}; ${usage.total_tokens ?? 0} tokens`
        + (metadata.validation_passed ? "; all valid" : "; some records are missing");
    }
  }
  finished(ui, made);
}

async function* lines(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).trim();
      buffer = buffer.slice(end + 1);
      if (line) yield JSON.parse(line);
    }
  }
  if (buffer.trim()) yield JSON.parse(buffer);
}

function finished(ui, made) {
  if (!made.length) return;
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "");
  clear(ui.after,
    h("button", { type: "button", onclick: () => download(`synthetic-${stamp}.jsonl`, "application/x-ndjson", jsonLines(made)) },
      "Download JSONL"),
    h("button", { type: "button", onclick: () => download(`synthetic-${stamp}.csv`, "text/csv", csv(made)) },
      "Download CSV"),
    ui.preset.value === "parley-summaries" ? sendButton(made, ui.language.value) : null);
}

function sendButton(made, language) {
  const reason = lacks("conversations:write");
  const result = h("span", { role: "status", id: "send-result" });
  const button = h("button", { type: "button", disabled: Boolean(reason), title: reason || undefined },
    "Send to ingest");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const all = made.flatMap((record) => entities(record, language));
      let stored = 0;
      for (let i = 0; i < all.length; i += BATCH) {
        const answer = await (await request("/api/conversations", { method: "POST",
          body: { entities: all.slice(i, i + BATCH) } })).json();
        stored += answer.inserted;
      }
      clear(result, `Stored ${stored} summaries. `, h("a", { href: `#/conversations?sourceId=${SOURCE}` }, "See them"));
    } catch (error) {
      showError(error);
      button.disabled = false;
    }
  });
  return [button, reason ? h("small", { class: "hint" }, reason) : null, result];
}
