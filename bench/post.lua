-- wrk: POST /api/conversations, new summaryIds each request.
-- wrk -s bench/post.lua <url> -- <api key> <run tag> [entities per request, default 1]
local key, tag, size, counter = "", "", 1, 0

function init(args)
  key, tag, size = args[1], args[2], tonumber(args[3] or "1")
end

local ENTITY = '{"summaryType":"Conversation","mediaType":"Call","language":"en",'
  .. '"summaryId":"wrk-%s-%d-%d","sourceId":"bench","summary":"Customer asked for a refund of a damaged parcel",'
  .. '"generated":true,"dateCreated":"2025-12-23T15:30:00.000Z","insights":[{"type":"Reason",'
  .. '"title":"Refund request","description":"The parcel arrived damaged"}]}'

function request()
  counter = counter + 1
  local entities = {}
  for i = 1, size do
    entities[i] = string.format(ENTITY, tag, counter, i)
  end
  local body = '{"entities":[' .. table.concat(entities, ",") .. ']}'
  return wrk.format("POST", "/api/conversations", {["content-type"] = "application/json", ["x-api-key"] = key}, body)
end
