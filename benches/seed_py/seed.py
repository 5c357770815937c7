"""The seed report's six categories under CPython, the same algorithms as
benches/seed.rs, timed in-process like criterion times the Vela functions.

Prints one tab-separated line per benchmark: `group/param  ns_per_call  result`.
Run with Debian's /usr/bin/python3.11 (the pyenv shim is slower and adds start-up).
Usage: seed.py [--quick]   (--quick: one short repeat each, for smoke tests)
"""

import statistics
import sys
import timeit

VAR_ROUNDS = 100


def arithmetic(n):
    x = 0
    for i in range(n):
        x = (x * 3 + i) % 1000003
    return x


def fibonacci(n):
    a = 0
    b = 1
    for _ in range(n):
        t = a + b
        a = b
        b = t
    return a


def stack_operations(n):
    s = []
    for i in range(n):
        s.append(i)
    total = 0
    for _ in range(1, n):
        total += s.pop()
    return total + s[0]


def control_flow(n):
    count = 0
    for i in range(n):
        if i % 3 == 0:
            count += 1
        elif i % 3 == 1:
            count += 2
        else:
            count -= 1
    return count


def locals_source(n):
    """n local variables, each updated in every round, summed at the end."""
    lines = ["def local_variables():"]
    lines += [f"    v{j} = {j}" for j in range(n)]
    lines.append(f"    for i in range({VAR_ROUNDS}):")
    lines += [f"        v{j} += i" for j in range(n)]
    lines.append("    return " + " + ".join(f"v{j}" for j in range(n)))
    return "\n".join(lines) + "\n"


def globals_source(n):
    """The same with n module globals (reset at the start of each call)."""
    lines = [f"g{j} = 0" for j in range(n)]
    lines.append("def global_variables():")
    lines.append("    global " + ", ".join(f"g{j}" for j in range(n)))
    lines += [f"    g{j} = {j}" for j in range(n)]
    lines.append(f"    for i in range({VAR_ROUNDS}):")
    lines += [f"        g{j} += i" for j in range(n)]
    lines.append("    return " + " + ".join(f"g{j}" for j in range(n)))
    return "\n".join(lines) + "\n"


def generated(source, name):
    namespace = {}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


def vars_ref(n):
    return n * (n - 1) // 2 + n * (VAR_ROUNDS * (VAR_ROUNDS - 1) // 2)


def fib_ref(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def cases():
    for n in (1000, 10000, 100000):
        x = 0
        for i in range(n):
            x = (x * 3 + i) % 1000003
        yield "arithmetic", n, arithmetic, (n,), x
    for n in (10, 20, 30):
        yield "fibonacci", n, fibonacci, (n,), fib_ref(n)
    for n in (5, 10, 20):
        f = generated(locals_source(n), "local_variables")
        yield "local_variables", n, f, (), vars_ref(n)
    for n in (5, 10, 20):
        f = generated(globals_source(n), "global_variables")
        yield "global_variables", n, f, (), vars_ref(n)
    for n in (10, 50, 100):
        yield "stack_operations", n, stack_operations, (n,), n * (n - 1) // 2
    for n in (100, 500, 1000):
        expect = sum((1, 2, -1)[i % 3] for i in range(n))
        yield "control_flow", n, control_flow, (n,), expect


def main():
    quick = "--quick" in sys.argv
    repeats = 1 if quick else 7
    budget = 0.01 if quick else 0.15
    for group, param, f, args, expect in cases():
        result = f(*args)
        if result != expect:
            sys.exit(f"{group}/{param}: got {result}, expected {expect}")
        timer = timeit.Timer("f(*args)", globals={"f": f, "args": args})
        number, _ = timer.autorange()
        number = max(1, int(number * budget / 0.2))
        times = timer.repeat(repeat=repeats, number=number)
        ns = statistics.median(times) / number * 1e9
        print(f"{group}/{param}\t{ns:.1f}\t{result}", flush=True)


if __name__ == "__main__":
    main()
