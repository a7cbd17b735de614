-- wrk script: POST one small PNG as base64 JSON to /v1/jobs. After the first job every request is a
-- cache hit, so this measures the submit path alone (validation, content key, Redis), no engines.
local f = assert(io.open(os.getenv("OCR_BENCH_IMAGE") or "samples/char_R.png", "rb"))
local png = f:read("*a")
f:close()
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  return ((data:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"image": "' .. base64(png) .. '", "mode": "char"}'
