//! Workloads beyond the seed report: recursive calls, strings, lists, maps, closures,
//! allocation and garbage collection, and the front end. Each workload is Vela
//! source compiled once outside the timed loop; the timed loop calls a compiled
//! function. The `frontend` group times lexing, parsing and compiling a generated
//! 2,000-line program.

mod common;

use common::{call, config, int, load_fn};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use vela::vm::Value;

const FIB: &str = "
fn fib(n) {
  if n < 2 {
    return n
  }
  return fib(n - 1) + fib(n - 2)
}
";

const STRINGS: &str = r#"
fn string_building(n) {
  let parts = []
  for i in 0..n {
    push(parts, "item" + str(i) + "=${i * 2}")
  }
  let s = join(parts, ",")
  return len(s)
}
"#;

const LISTS: &str = "
fn list_push_pop(n) {
  let l = []
  state total = 0
  for round in 0..10 {
    for i in 0..n {
      push(l, i + round)
    }
    while len(l) > 0 {
      total += pop(l)
    }
  }
  return total
}
";

const MAPS: &str = r#"
fn map_fields(n) {
  let bodies = []
  for i in 0..5 {
    push(bodies, {"x": float(i) + 1.0, "y": float(i * 2) - 3.0, "vx": 0.0, "vy": 0.5, "m": 1.0 + float(i)})
  }
  for step in 0..n {
    for b in bodies {
      b.vx = b.vx - b.x * 0.01
      b.vy = b.vy - b.y * 0.01
      b.x = b.x + b.vx * 0.01
      b.y = b.y + b.vy * 0.01
    }
  }
  state e = 0.0
  for b in bodies {
    e += b.m * (b.vx * b.vx + b.vy * b.vy)
  }
  return int(e * 1000000.0)
}
"#;

const CLOSURES: &str = "
fn make_counter(step) {
  state c = 0
  return fn () {
    c += step
    return c
  }
}

fn closures(n) {
  let counters = []
  for i in 0..10 {
    push(counters, make_counter(i + 1))
  }
  state total = 0
  for i in 0..n {
    let f = counters[i % 10]
    total += f()
  }
  return total
}
";

const TREES: &str = "
fn make(d) {
  if d == 0 {
    return [nil, nil]
  }
  return [make(d - 1), make(d - 1)]
}

fn check(t) {
  if t[0] == nil {
    return 1
  }
  return 1 + check(t[0]) + check(t[1])
}

fn binary_trees(depth) {
  let long_lived = make(depth)
  state total = 0
  for i in 0..8 {
    total += check(make(depth - 2))
  }
  return total + check(long_lived)
}
";

/// A Vela program of exactly `lines` lines: functions, loops, conditionals, maps,
/// lists, strings with interpolation and closures.
fn generated_program(lines: usize) -> String {
    let mut out = Vec::new();
    let mut k = 0;
    while out.len() < lines {
        let block = format!(
            r#"// block {k}
fn f_{k}(a: Int, b: Int) -> Int {{
  state acc = a
  for i in 0..b {{
    if i % 2 == 0 {{
      acc += i * {k}
    }} else if i % 3 == 0 {{
      acc -= 1
    }} else {{
      acc = acc + 1
    }}
  }}
  return acc
}}
let m_{k} = {{"name": "block {k}", "value": f_{k}({k}, 3), "items": [1, 2.5, "three", nil, true]}}
state s_{k} = "value ${{m_{k}.value}} of ${{m_{k}.name}}"
let c_{k} = fn (x) {{ return x + {k} }}
while len(s_{k}) > 1000 {{
  s_{k} = s_{k} + "!"
}}
assert(c_{k}(1) == {k} + 1, "closure {k}")"#
        );
        out.extend(block.lines().map(str::to_string));
        k += 1;
    }
    out.truncate(lines);
    // never end in the middle of a block: drop the unfinished tail
    while let Some(last) = out.last() {
        if last.starts_with("assert(") {
            break;
        }
        out.pop();
    }
    while out.len() < lines {
        out.push(format!("let pad_{} = {}", out.len(), out.len()));
    }
    out.join("\n") + "\n"
}

/// Loads `source`, checks `fname(arg)` against `expect` and times it.
fn bench_call(c: &mut Criterion, group: &str, source: &str, fname: &str, arg: i64, expect: i64) {
    let mut g = c.benchmark_group(group);
    let (mut vm, f) = load_fn(source, fname);
    let args = [Value::Int(arg)];
    assert_eq!(int(call(&mut vm, f, &args)), expect, "{group}/{arg}");
    g.bench_with_input(BenchmarkId::from_parameter(arg), &arg, |b, _| {
        b.iter(|| call(&mut vm, f, black_box(&args)))
    });
    g.finish();
}

fn fib_recursive(c: &mut Criterion) {
    bench_call(c, "fib_recursive", FIB, "fib", 25, 75025);
}

fn string_building(c: &mut Criterion) {
    let n = 10_000i64;
    let expect: usize = (0..n)
        .map(|i| format!("item{i}={}", i * 2).len())
        .sum::<usize>()
        + (n as usize - 1);
    bench_call(
        c,
        "string_building",
        STRINGS,
        "string_building",
        n,
        expect as i64,
    );
}

fn list_push_pop(c: &mut Criterion) {
    let n = 10_000i64;
    let expect: i64 = (0..10).map(|r| (0..n).map(|i| i + r).sum::<i64>()).sum();
    bench_call(c, "list_push_pop", LISTS, "list_push_pop", n, expect);
}

fn map_fields(c: &mut Criterion) {
    let n = 2_000i64;
    // the same float operations in the same order as the Vela code
    let mut bodies: Vec<[f64; 5]> = (0..5)
        .map(|i| {
            [
                i as f64 + 1.0,
                (i * 2) as f64 - 3.0,
                0.0,
                0.5,
                1.0 + i as f64,
            ]
        })
        .collect();
    for _ in 0..n {
        for b in &mut bodies {
            b[2] -= b[0] * 0.01;
            b[3] -= b[1] * 0.01;
            b[0] += b[2] * 0.01;
            b[1] += b[3] * 0.01;
        }
    }
    let e: f64 = bodies
        .iter()
        .fold(0.0, |e, b| e + b[4] * (b[2] * b[2] + b[3] * b[3]));
    bench_call(
        c,
        "map_fields",
        MAPS,
        "map_fields",
        n,
        (e * 1_000_000.0) as i64,
    );
}

fn closures(c: &mut Criterion) {
    let n = 20_000i64;
    let mut counts = [0i64; 10];
    let mut total = 0;
    for i in 0..n {
        let j = (i % 10) as usize;
        counts[j] += j as i64 + 1;
        total += counts[j];
    }
    bench_call(c, "closures", CLOSURES, "closures", n, total);
}

fn binary_trees(c: &mut Criterion) {
    let nodes = |d: u32| (1i64 << (d + 1)) - 1;
    let depth = 12;
    let expect = 8 * nodes(depth - 2) + nodes(depth);
    bench_call(
        c,
        "binary_trees",
        TREES,
        "binary_trees",
        depth as i64,
        expect,
    );
}

fn frontend(c: &mut Criterion) {
    let source = generated_program(2000);
    assert_eq!(source.lines().count(), 2000);
    // the program is valid and runs
    let program = vela::compile_source(&source, "gen.vela").expect("generated program compiles");
    let mut vm = common::quiet_vm();
    let main = vm.load(&program).expect("verifies");
    vm.call_value(main, &[]).expect("generated program runs");

    let mut g = c.benchmark_group("frontend");
    g.throughput(Throughput::Bytes(source.len() as u64));
    g.bench_function("lex/2000_lines", |b| {
        b.iter(|| vela::lexer::lex(black_box(&source)).map(|t| t.len()))
    });
    g.bench_function("parse/2000_lines", |b| {
        b.iter(|| vela::parser::parse(black_box(&source)).map(|s| s.len()))
    });
    g.bench_function("compile/2000_lines", |b| {
        b.iter(|| vela::compile_source(black_box(&source), "gen.vela").map(|p| p.main.code.len()))
    });
    g.finish();
}

criterion_group! {
    name = workloads;
    config = config();
    targets = fib_recursive, string_building, list_push_pop, map_fields, closures,
        binary_trees, frontend
}
criterion_main!(workloads);
