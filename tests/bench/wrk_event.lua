-- wrk_event.lua -- one POST /event/ in CloudEvents binary mode, for tests/bench/wrk_shim.sh.
--
-- WRK_EVENT_MODE picks what kedro-eventd does with it:
--   duplicate (default)  every request carries the same ce-id: the first starts event00,
--                        the rest take the server's duplicate path (no store insert) and
--                        answer the original pipeline (as tests/bench/h2load.sh does)
--   unique               a new ce-id per request: every request records a pipeline
--   nomatch              a ce-type no route matches: the answer is []
local mode = os.getenv("WRK_EVENT_MODE") or "duplicate"

wrk.method = "POST"
wrk.path = "/event/"
wrk.headers["ce-specversion"] = "1.0"
wrk.headers["ce-id"] = "wrk-event-1"
wrk.headers["ce-source"] = "example.com"
wrk.headers["ce-type"] = (mode == "nomatch") and "com.example.nomatch" or "com.example.event"
wrk.headers["ce-subject"] = "Euro%20%E2%82%AC"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key": "value", "n": 1}'

local threads = 0
function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

local fixed = nil
local counter = 0
function request()
   if mode == "unique" then
      counter = counter + 1
      wrk.headers["ce-id"] = string.format("wrk-%d-%d-%d", tid, os.time(), counter)
      return wrk.format()
   end
   if fixed == nil then
      fixed = wrk.format()
   end
   return fixed
end
