-- A list used as a stack: rounds of pushes and pops, draining to empty each round.
local function run(rounds)
  local stack = {}
  local total = 0
  for r = 0, rounds - 1 do
    for i = 0, 999 do
      stack[#stack + 1] = i + r
      stack[#stack + 1] = i
      local top = stack[#stack]
      stack[#stack] = nil
      total = total + top
    end
    while #stack > 0 do
      local top = stack[#stack]
      stack[#stack] = nil
      total = (total + top) % 1000003
    end
  end
  return total
end

print(string.format("%d", run(4000)))
