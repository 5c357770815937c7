# Twenty global variables rotated through each iteration: t = g0; g0 = g1 + 1; ...; g19 = t + i % 7.
g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15, g16, g17, g18, g19 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19


def run(n):
    global g0, g1, g2, g3, g4, g5, g6, g7, g8, g9, g10, g11, g12, g13, g14, g15, g16, g17, g18, g19
    for i in range(n):
        t = g0
        g0 = g1 + 1
        g1 = g2 + 1
        g2 = g3 + 1
        g3 = g4 + 1
        g4 = g5 + 1
        g5 = g6 + 1
        g6 = g7 + 1
        g7 = g8 + 1
        g8 = g9 + 1
        g9 = g10 + 1
        g10 = g11 + 1
        g11 = g12 + 1
        g12 = g13 + 1
        g13 = g14 + 1
        g14 = g15 + 1
        g15 = g16 + 1
        g16 = g17 + 1
        g17 = g18 + 1
        g18 = g19 + 1
        g19 = t + i % 7
    return 1 * g0 + 2 * g1 + 3 * g2 + 4 * g3 + 5 * g4 + 6 * g5 + 7 * g6 + 8 * g7 + 9 * g8 + 10 * g9 + 11 * g10 + 12 * g11 + 13 * g12 + 14 * g13 + 15 * g14 + 16 * g15 + 17 * g16 + 18 * g17 + 19 * g18 + 20 * g19


print(run(1500000))
