// The reference row of `make bench`: the seed's own kind of stack, a Node HTTP route with
// `pg`, one transaction per request, cluster mode with one worker per core. It stores what
// Parley's ingest stores, with the same statement (services/ingest/storage/writes.py
// INSERT_SQL, handed over in a file), so PostgreSQL does the same work for both.
//
//   node bench/node/server.js <port> <dsn> <insert.sql> <api key> <connections per worker>
"use strict";

const cluster = require("node:cluster");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const { Pool } = require("pg");

const [port, dsn, sqlFile, apiKey, perWorker] = process.argv.slice(2);
const MAX_BODY = 4 * 1024 * 1024;

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

// INSERT_SQL's 20 array arguments, as services/ingest/storage/writes.py insert_columns makes them.
function columns(entities) {
  const names = ["summaryId", "summaryType", "mediaType", "language", "agentId", "sourceId", "summary"];
  const cols = names.map((name) => entities.map((e) => e[name] ?? null));
  cols.push(entities.map((e) => e.generated === true));
  cols.push(entities.map((e) => e.dateCreated));
  cols.push(entities.map((e) => (e.summaryType === "Conversation" ? null : e.conversationId)));
  cols.push(entities.map(() => null));
  cols.push(entities.map((e) => crypto.createHash("sha256").update(JSON.stringify(e)).digest()));
  cols.push(entities.map((e) => (e.insights || []).map((i) => `${i.title} ${i.description}`).join(" ")));
  cols.push(entities.map((e) => JSON.stringify((e.insights || []).map(
    (i) => ({ type: i.type, title: i.title, description: i.description, ...(i.outcome == null ? {} : { outcome: i.outcome }) })))));
  const insights = [[], [], [], [], [], []];
  for (const e of entities) {
    (e.insights || []).forEach((i, position) => {
      [e.summaryId, position, i.type, i.title, i.description, i.outcome ?? null]
        .forEach((value, n) => insights[n].push(value));
    });
  }
  return cols.concat(insights);
}

async function store(pool, sql, entities) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await client.query({ name: "insert", text: sql, values: columns(entities) });
    await client.query("COMMIT");
    return result.rowCount;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

function worker() {
  const pool = new Pool({ connectionString: dsn, max: Number(perWorker) });
  const sql = fs.readFileSync(sqlFile, "utf8");
  http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/api/conversations") return reply(res, 404, { error: "Not found" });
    if (req.headers["x-api-key"] !== apiKey) return reply(res, 401, { error: "Unauthorized" });
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      let entities;
      try {
        entities = JSON.parse(Buffer.concat(chunks).toString("utf8")).entities;
      } catch {
        return reply(res, 400, { error: "Invalid JSON" });
      }
      if (!Array.isArray(entities) || entities.length === 0) return reply(res, 400, { error: "entities required" });
      store(pool, sql, entities).then(
        (stored) => reply(res, 200, { success: true, stored }),
        (err) => reply(res, 500, { error: err.message }),
      );
    });
  }).listen(Number(port), "127.0.0.1");
}

if (cluster.isPrimary) {
  for (let i = 0; i < os.availableParallelism(); i++) cluster.fork();
} else {
  worker();
}
