# Binary trees: allocate many short-lived trees and one long-lived one (GC pressure).
def make(d):
    if d == 0:
        return [None, None]
    return [make(d - 1), make(d - 1)]


def check(t):
    if t[0] is None:
        return 1
    return 1 + check(t[0]) + check(t[1])


def run(max_depth):
    total = check(make(max_depth + 1))
    long_lived = make(max_depth)
    for d in range(4, max_depth + 1, 2):
        iters = 2 ** (max_depth - d + 4)
        for _ in range(iters):
            total += check(make(d))
    return total + check(long_lived)


print(run(14))
