-- Arithmetic loop: Int multiply, add and modulo in a counted loop.
local function run(n)
  local x = 0
  for i = 0, n - 1 do
    x = (x * 31 + i * 7 + 3) % 1000003
  end
  return x
end

print(string.format("%d", run(6000000)))
