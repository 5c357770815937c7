# Arithmetic loop: Int multiply, add and modulo in a counted loop.
def run(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i * 7 + 3) % 1000003
    return x


print(run(6000000))
