# Recursive Fibonacci: fib(30), four times (one fib(30) is too short under CPython).
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


total = 0
for _ in range(4):
    total += fib(30)
print(total)
