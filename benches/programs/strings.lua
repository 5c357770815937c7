-- String building: str() of numbers, concatenation, join, length.
local function run(rounds, n)
  local total = 0
  for r = 0, rounds - 1 do
    local parts = {}
    for i = 0, n - 1 do
      parts[#parts + 1] = "k" .. tostring(i * 7 + r)
    end
    local s = table.concat(parts, ",")
    total = total + #s
  end
  return total
end

print(string.format("%d", run(500, 10000)))
