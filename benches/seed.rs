//! The seed report's six benchmark categories, with its parameters:
//! `arithmetic/{1000,10000,100000}` (operations), `fibonacci/{10,20,30}` (iterative),
//! `local_variables/{5,10,20}`, `global_variables/{5,10,20}`,
//! `stack_operations/{10,50,100}` (depth: push all, pop all but one) and
//! `control_flow/{100,500,1000}` (iterations of a loop with a conditional), plus
//! `stack_operations_bytecode/{10,50,100}`: the stack benchmark as hand-assembled
//! bytecode over the VM's PUSH/POP virtual stack.
//!
//! Each category is Vela source compiled once, outside the timed loop; the timed
//! loop calls the compiled function. benches/seed_py/seed.py times the same
//! algorithms under CPython (scripts/seed_table.sh puts the two side by side in
//! docs/performance.md). Every result is checked against a Rust reimplementation
//! before timing, so a bench that computes the wrong thing fails.

mod common;

use common::{call, config, int, load_fn, quiet_vm};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use vela::bytecode::builder::{ProgramBuilder, ProtoBuilder};
use vela::bytecode::Program;
use vela::vm::Value;

/// Rounds of the loop in the local and global variable benchmarks.
const VAR_ROUNDS: i64 = 100;

const ARITHMETIC: &str = "
fn arithmetic(n) {
  state x = 0
  for i in 0..n {
    x = (x * 3 + i) % 1000003
  }
  return x
}
";

const FIBONACCI: &str = "
fn fibonacci(n) {
  state a = 0
  state b = 1
  for _ in 0..n {
    let t = a + b
    a = b
    b = t
  }
  return a
}
";

const STACK: &str = "
fn stack_operations(n) {
  let s = []
  for i in 0..n {
    push(s, i)
  }
  state total = 0
  for _ in 1..n {
    total += pop(s)
  }
  return total + s[0]
}
";

const CONTROL: &str = "
fn control_flow(n) {
  state count = 0
  for i in 0..n {
    if i % 3 == 0 {
      count += 1
    } else if i % 3 == 1 {
      count += 2
    } else {
      count -= 1
    }
  }
  return count
}
";

/// `n` local variables, each updated in every round, summed at the end.
fn locals_source(n: usize) -> String {
    let mut s = String::from("fn local_variables() {\n");
    for j in 0..n {
        s += &format!("  state v{j} = {j}\n");
    }
    s += &format!("  for i in 0..{VAR_ROUNDS} {{\n");
    for j in 0..n {
        s += &format!("    v{j} += i\n");
    }
    s += "  }\n  return ";
    s += &(0..n)
        .map(|j| format!("v{j}"))
        .collect::<Vec<_>>()
        .join(" + ");
    s += "\n}\n";
    s
}

/// The same with `n` global variables (reset at the start of each call).
fn globals_source(n: usize) -> String {
    let mut s = String::new();
    for j in 0..n {
        s += &format!("state g{j} = 0\n");
    }
    s += "fn global_variables() {\n";
    for j in 0..n {
        s += &format!("  g{j} = {j}\n");
    }
    s += &format!("  for i in 0..{VAR_ROUNDS} {{\n");
    for j in 0..n {
        s += &format!("    g{j} += i\n");
    }
    s += "  }\n  return ";
    s += &(0..n)
        .map(|j| format!("g{j}"))
        .collect::<Vec<_>>()
        .join(" + ");
    s += "\n}\n";
    s
}

/// The stack benchmark in bytecode: `n` PUSHes, then `n - 1` POPs summed.
fn stack_bytecode(n: u32) -> Program {
    let mut f = ProtoBuilder::new("stack_operations");
    for i in 0..n {
        f.load_int(0, i as i64);
        f.push(0);
    }
    f.load_int(1, 0);
    for _ in 1..n {
        f.pop(0);
        f.add(1, 1, 0);
    }
    // what is left: the bottom value, 0
    f.pop(0);
    f.add(1, 1, 0);
    f.ret(1);
    let proto = f.finish().expect("stack bytecode is well formed");
    ProgramBuilder::new("stack_operations").finish(proto)
}

// Reference results.
fn arithmetic_ref(n: i64) -> i64 {
    (0..n).fold(0, |x, i| (x * 3 + i) % 1000003)
}
fn fibonacci_ref(n: i64) -> i64 {
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}
fn vars_ref(n: usize) -> i64 {
    let n = n as i64;
    n * (n - 1) / 2 + n * (VAR_ROUNDS * (VAR_ROUNDS - 1) / 2)
}
fn stack_ref(n: i64) -> i64 {
    n * (n - 1) / 2
}
fn control_ref(n: i64) -> i64 {
    (0..n).map(|i| [1, 2, -1][(i % 3) as usize]).sum()
}

/// A group that calls `fname` of `source` with each parameter as its argument.
fn int_arg_group(
    c: &mut Criterion,
    group: &str,
    source: &str,
    fname: &str,
    params: &[i64],
    reference: fn(i64) -> i64,
) {
    let mut g = c.benchmark_group(group);
    for &n in params {
        let (mut vm, f) = load_fn(source, fname);
        let arg = [Value::Int(n)];
        assert_eq!(int(call(&mut vm, f, &arg)), reference(n), "{group}/{n}");
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| call(&mut vm, f, black_box(&arg)))
        });
    }
    g.finish();
}

/// A group whose source is generated per parameter; the function takes no argument.
fn generated_group(c: &mut Criterion, group: &str, source: fn(usize) -> String) {
    let mut g = c.benchmark_group(group);
    for n in [5usize, 10, 20] {
        let (mut vm, f) = load_fn(&source(n), group);
        assert_eq!(int(call(&mut vm, f, &[])), vars_ref(n), "{group}/{n}");
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| call(&mut vm, black_box(f), &[]))
        });
    }
    g.finish();
}

fn arithmetic(c: &mut Criterion) {
    int_arg_group(
        c,
        "arithmetic",
        ARITHMETIC,
        "arithmetic",
        &[1000, 10000, 100000],
        arithmetic_ref,
    );
}

fn fibonacci(c: &mut Criterion) {
    int_arg_group(
        c,
        "fibonacci",
        FIBONACCI,
        "fibonacci",
        &[10, 20, 30],
        fibonacci_ref,
    );
}

fn local_variables(c: &mut Criterion) {
    generated_group(c, "local_variables", locals_source);
}

fn global_variables(c: &mut Criterion) {
    generated_group(c, "global_variables", globals_source);
}

fn stack_operations(c: &mut Criterion) {
    int_arg_group(
        c,
        "stack_operations",
        STACK,
        "stack_operations",
        &[10, 50, 100],
        stack_ref,
    );
}

fn stack_operations_bytecode(c: &mut Criterion) {
    let mut g = c.benchmark_group("stack_operations_bytecode");
    for n in [10u32, 50, 100] {
        let program = stack_bytecode(n);
        let mut vm = quiet_vm();
        let main = vm.load(&program).expect("verifies");
        assert_eq!(int(call(&mut vm, main, &[])), stack_ref(n as i64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| call(&mut vm, black_box(main), &[]))
        });
    }
    g.finish();
}

fn control_flow(c: &mut Criterion) {
    int_arg_group(
        c,
        "control_flow",
        CONTROL,
        "control_flow",
        &[100, 500, 1000],
        control_ref,
    );
}

criterion_group! {
    name = seed;
    config = config();
    targets = arithmetic, fibonacci, local_variables, global_variables,
        stack_operations, stack_operations_bytecode, control_flow
}
criterion_main!(seed);
