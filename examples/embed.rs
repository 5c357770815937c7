// Embedding Vela: `cargo run --example embed`.
//
// A host application registers two functions (`log`, collecting messages, and
// `lookup`, returning a map from a pretend user database), gives the script a
// `config` global, runs a user "plugin" script under an instruction limit and a
// memory limit, catches what goes wrong (a runtime error, a runaway loop, a memory
// hog) and prints it as `vela run` would, and reads the script's globals at the end.
//
// tests/embed_example.rs includes this file and checks what `run_demo` prints.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;
use std::time::Duration;
use vela::indexmap::IndexMap;
use vela::{Dynamic, ErrorKind, OutputBuffer, Vm};

/// The untrusted script: processes some users through the host's functions.
const PLUGIN: &str = r#"state processed = 0
state total = 0

fn handle(id) {
  let user = lookup(id)
  log("info", "${user.name} has ${user.credits} credits")
  processed += 1
  total += user.credits * config.multiplier
  return user.credits
}

for id in [1, 2, 3] {
  handle(id)
}
try {
  handle(99)
} catch e {
  log("warn", "skipped: ${e.message}")
}
print("plugin done")
"processed ${processed} users"
"#;

fn main() {
    print!("{}", run_demo());
}

/// Runs the whole demonstration and returns what it has to say.
fn run_demo() -> String {
    let mut report = String::new();
    let output = OutputBuffer::new();
    let mut vm = Vm::builder()
        .output(output.clone())
        .max_instructions(1_000_000)
        .max_memory(8 << 20)
        .timeout(Duration::from_secs(5))
        .build();

    // Host functions. `log` keeps what the script logs; `lookup` returns a map or
    // fails with an error the script can catch.
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = log.clone();
    vm.register_fn("log", move |level: String, message: String| {
        sink.borrow_mut().push(format!("[{level}] {message}"));
    });
    let users: BTreeMap<i64, (&str, i64)> =
        BTreeMap::from([(1, ("Ann", 10)), (2, ("Bo", 25)), (3, ("Cy", 7))]);
    vm.register_fn("lookup", move |id: i64| {
        let (name, credits) = users.get(&id).ok_or(format!("no user with id {id}"))?;
        let mut user = IndexMap::new();
        user.insert("name".to_string(), Dynamic::from(*name));
        user.insert("credits".to_string(), Dynamic::from(*credits));
        Ok::<_, String>(user)
    });
    let mut config = IndexMap::new();
    config.insert("multiplier".to_string(), 2);
    vm.set_global("config", config).unwrap();

    // Compile and run the plugin.
    let script = match vm.compile(PLUGIN, "plugin.vela") {
        Ok(s) => s,
        Err(e) => return e.render(),
    };
    match vm.run(&script) {
        Ok(value) => writeln!(report, "plugin returned: {value}").unwrap(),
        Err(e) => report.push_str(&e.render()),
    }
    write!(report, "plugin printed: {}", output.take()).unwrap();
    for line in log.borrow().iter() {
        writeln!(report, "log: {line}").unwrap();
    }

    // Call one of its functions with a bad argument: a runtime error, with the
    // traceback through the script.
    let err = vm.call("handle", ("seven",)).unwrap_err();
    writeln!(
        report,
        "calling handle(\"seven\") failed ({:?}):",
        err.kind()
    )
    .unwrap();
    report.push_str(&err.render());

    // A runaway loop and a memory hog, stopped by the limits.
    for (what, source) in [
        ("runaway loop", "while true { processed += 0 }"),
        (
            "memory hog",
            "state s = \"x\"\nfor i in 0..40 { s = s + s }",
        ),
    ] {
        let err = vm.eval(source).unwrap_err();
        let limit = matches!(err.kind(), ErrorKind::Limit(_));
        writeln!(report, "{what} stopped (limit: {limit}):").unwrap();
        report.push_str(&err.render());
    }

    // The VM is still usable, and the plugin's globals are intact.
    let processed: i64 = vm.get_global("processed").unwrap();
    let total: i64 = vm.get_global("total").unwrap();
    writeln!(report, "globals: processed = {processed}, total = {total}").unwrap();
    let again = vm.call("handle", (2,)).unwrap();
    writeln!(report, "handle(2) afterwards: {again}").unwrap();
    report
}
