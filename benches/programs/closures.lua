-- Closures and counters: make counter closures, call them through a list.
local function make_counter(step)
  local count = 0
  return function()
    count = count + step
    return count
  end
end

local function run(rounds, calls)
  local total = 0
  for r = 0, rounds - 1 do
    local counters = {}
    for i = 0, 9 do
      counters[i + 1] = make_counter(i + r)
    end
    for i = 0, calls - 1 do
      total = (total + counters[i % 10 + 1]()) % 1000003
    end
  end
  return total
end

print(string.format("%d", run(4000, 1000)))
