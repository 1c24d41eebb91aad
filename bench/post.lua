-- wrk: single-entity POST /api/conversations, a new summaryId each request.
-- wrk -s bench/post.lua <url> -- <api key> <run tag>
local key, tag, counter = "", "", 0

function init(args)
  key, tag = args[1], args[2]
end

function request()
  counter = counter + 1
  local body = string.format('{"entities":[{"summaryType":"Conversation","mediaType":"Call","language":"en",'
    .. '"summaryId":"wrk-%s-%d","sourceId":"bench","summary":"Customer asked for a refund of a damaged parcel",'
    .. '"generated":true,"dateCreated":"2025-12-23T15:30:00.000Z","insights":[{"type":"Reason",'
    .. '"title":"Refund request","description":"The parcel arrived damaged"}]}]}', tag, counter)
  return wrk.format("POST", "/api/conversations", {["content-type"] = "application/json", ["x-api-key"] = key}, body)
end
