-- A loop with an if / else-if chain.
local function run(n)
  local a, b, c, d = 0, 0, 0, 0
  for i = 0, n - 1 do
    if i % 2 == 0 then
      a = a + 1
    elseif i % 3 == 0 then
      b = b + 2
    elseif i % 5 == 0 then
      c = c + 3
    else
      d = d + 1
    end
  end
  return a + 10 * b + 100 * c + 1000 * d
end

print(string.format("%d", run(8000000)))
