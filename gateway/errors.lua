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

function envoy_on_response(handle)
  local headers = handle:headers()
  local status = tonumber(headers:get(":status")) or 200
  local content_type = headers:get("content-type") or ""
  if status < 400 or content_type:find("application/grpc", 1, true) then
    return
  end
  local body = handle:body()
  if body == nil then return end
  local text = body:getBytes(0, body:length())
  local code = text:match('^%s*{%s*"code"%s*:%s*(%d+)')
  if code == nil then return end
  local message = json_string(text, "message") or "Request failed"
  -- handle:body() may have replaced the header map: fetch it again.
  headers = handle:headers()
  headers:replace(":status", tostring(HTTP_STATUS[tonumber(code)] or status))
  headers:replace("content-type", "application/json")
  headers:remove("grpc-message")
  headers:remove("grpc-status")
  body:setBytes('{"error": "' .. message .. '"}')
end
