-- Rewrites the transcoder's google.rpc.Status error bodies into Parley's
-- {"error": "<message>"} and sets the HTTP status Parley documents.
-- Runs before the transcoder in the chain, so on the way out it sees what the
-- transcoder produced. Native gRPC and successful responses pass untouched
-- and are never buffered.

-- HTTP_STATUS (gRPC code -> HTTP status) is not written here: gateway/render.py
-- prepends it, generated from services/common/errors.py, the one table that the
-- services use too.

-- The raw (still JSON-escaped) text of the string value of "key" in text.
local function json_string(text, key)
  local marker = '"' .. key .. '":"'
  local start = text:find(marker, 1, true)
  if not start then return nil end
  local first = start + #marker
  local i = first
  while i <= #text do
    local c = text:sub(i, i)
    if c == "\\" then
      i = i + 2
    elseif c == '"' then
      return text:sub(first, i - 1)
    else
      i = i + 1
    end
  end
  return nil
end

-- The transcoder names proto types in its own 400s ("for type TYPE_BOOL",
-- "type.googleapis.com/parley..."): say what JSON was expected instead.
local EXPECTED = {
  TYPE_BOOL = "a boolean", TYPE_STRING = "a string", TYPE_BYTES = "a base64 string",
  TYPE_INT32 = "an integer", TYPE_INT64 = "an integer", TYPE_SINT32 = "an integer", TYPE_SINT64 = "an integer",
  TYPE_UINT32 = "a non-negative integer", TYPE_UINT64 = "a non-negative integer",
  TYPE_DOUBLE = "a number", TYPE_FLOAT = "a number", TYPE_ENUM = "one of the documented values",
  ["type.googleapis.com/google.protobuf.Struct"] = "a JSON object",
  ["type.googleapis.com/google.protobuf.Value"] = "a JSON value",
}

local function camel(path)
  return (path:gsub("_(%l)", string.upper))
end

-- Parley's wording of a transcoder message, or nil to leave it as it is.
local function reworded(message)
  if message == "" then
    return "Malformed request: check the URL (no '#', valid percent-encoding) and the Host header"
  end
  local path, value, kind = message:match("^(.-): invalid value (.-) for type (%S+)$")
  if path then
    local expected = EXPECTED[kind] or "an object"
    local field = path == "" and "The request body" or camel(path)
    return field .. " must be " .. expected .. " (got " .. value .. ")"
  end
  local unknown = message:match('^Could not find field \\"(.-)\\" in the type')
  if unknown then
    return "Unknown query parameter '" .. unknown .. "'"
  end
  if message == "local_rate_limited" then
    return "Too many requests (from this address, or with large bodies); retry shortly"
  end
  if message:find("Root element must be a message", 1, true) then
    return "The request body must be a JSON object"
  end
  local token = message:match("^(Unexpected[^\\]*)")
  if token then
    return "The request body is not valid JSON: " .. token
  end
  return nil
end

-- A local reply of the transcoder ({"error":"..."}, Envoy's own shape) reworded.
local function reword_local_reply(handle, text)
  local message = json_string(text, "error")
  local better = message and reworded(message)
  if better then
    handle:body():setBytes('{"error": "' .. better .. '"}')
  end
end

-- A transcoded stream (its route's metadata says so) is one JSON object a line.
local function is_stream(handle)
  return handle:metadata():get("ndjson") == true
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local status = tonumber(headers:get(":status")) or 200
  local content_type = headers:get("content-type") or ""
  if status < 400 and content_type == "application/json" and is_stream(handle) then
    headers:replace("content-type", "application/x-ndjson")
  end
  if status < 400 or content_type:find("application/grpc", 1, true) then
    return
  end
  local body = handle:body()
  if body == nil then return end
  local text = body:getBytes(0, body:length())
  local code = text:match('^%s*{%s*"code"%s*:%s*(%d+)')
  if code == nil then
    if text:sub(1, 9) == '{"error":' then reword_local_reply(handle, text) end
    return
  end
  local message = json_string(text, "message") or "Request failed"
  local http_status = HTTP_STATUS[tonumber(code)] or status
  -- handle:body() may have replaced the header map: fetch it again.
  headers = handle:headers()
  -- An error whose HTTP status is not its code's (services/common/errors.py, http_override).
  local override = tonumber(headers:get("x-parley-http-status") or "")
  if override then
    http_status = override
    headers:remove("x-parley-http-status")
  end
  -- gRPC's own refusal beyond a service's max_concurrent_rpcs: busy, not "too large".
  if tonumber(code) == 8 and message:find("Concurrent RPC limit exceeded", 1, true) then
    http_status, message = 503, "The service is busy (too many requests in progress); retry shortly"
    headers:replace("retry-after", "1")
  end
  headers:replace(":status", tostring(http_status))
  headers:replace("content-type", "application/json")
  headers:remove("grpc-message")
  -- The service's code stays on the response (the transcoder has taken it off), so the
  -- access log's grpc= field names it rather than guessing from the HTTP status.
  headers:replace("grpc-status", code)
  body:setBytes('{"error": "' .. message .. '"}')
end
