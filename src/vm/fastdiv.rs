//! Division by an instruction's constant divisor without a division instruction.
//!
//! `x % 1000003` in a loop is bound by the latency of the CPU's divide (tens of
//! cycles). For a divisor `d` known when the function is loaded, Lemire, Kaser and
//! Kurz's method ("Faster remainder by direct computation", 2019) replaces it with
//! two multiplications by a precomputed 64-bit reciprocal; it is exact for every
//! 32-bit dividend and divisor, so MODI/IDIVI use it when the dividend fits in
//! 32 bits and fall back to the divide otherwise.

/// The reciprocal of divisor `d` (1 <= d < 2^32): `ceil(2^64 / d)`, wrapping to 0
/// for `d == 1` (which `rem` still gets right, but not `quot`; the VM only uses
/// divisors that are not powers of two).
pub fn reciprocal(d: u32) -> u64 {
    (u64::MAX / d as u64).wrapping_add(1)
}

/// `n % d` for `n < 2^32` and `1 <= d < 2^32`, given `m = reciprocal(d)`.
/// (`d` is taken as a `u64` so that a caller holding it as a sign-extended
/// positive `i32` passes it as is: LLVM then multiplies unsigned, without the
/// correction for a negative operand that a `u32` widened again adds.)
#[inline(always)]
pub fn rem(n: u32, m: u64, d: u64) -> u32 {
    let low = m.wrapping_mul(n as u64);
    ((low as u128 * d as u128) >> 64) as u32
}

/// `n / d` for `n < 2^32`, given `m = reciprocal(d)` and `d >= 2`.
#[inline(always)]
pub fn quot(n: u32, m: u64) -> u32 {
    ((m as u128 * n as u128) >> 64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_divide_instruction() {
        let divisors = [
            1u32, 2, 3, 5, 6, 7, 10, 11, 100, 641, 1000, 65_537, 1_000_003,
        ]
        .into_iter()
        .chain([i32::MAX as u32, u32::MAX, u32::MAX - 1, 1 << 31]);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for d in divisors {
            let m = reciprocal(d);
            let edges = [0u32, 1, d - 1, d, d.wrapping_add(1), u32::MAX, u32::MAX - 1];
            let random = (0..20_000).map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u32
            });
            for n in edges.into_iter().chain(random) {
                assert_eq!(rem(n, m, d as u64), n % d, "{n} % {d}");
                if d >= 2 {
                    assert_eq!(quot(n, m), n / d, "{n} / {d}");
                }
            }
        }
    }
}
