# Iterative Fibonacci modulo a prime, for 100 values of n around 100,000.
def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % 1000000007
    return a


total = 0
for k in range(100):
    total = (total + fib(100000 + k)) % 1000000007
print(total)
