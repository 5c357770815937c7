//! Runs the logic of examples/embed.rs (included here, so that the test does not
//! depend on a built example binary) and checks what it reports.

#[allow(dead_code)]
mod example {
    include!("../examples/embed.rs");

    pub fn report() -> String {
        run_demo()
    }
}

#[test]
fn the_embedding_example_works() {
    let report = example::report();
    let expected = "\
plugin returned: processed 3 users
plugin printed: plugin done
log: [info] Ann has 10 credits
log: [info] Bo has 25 credits
log: [info] Cy has 7 credits
log: [warn] skipped: no user with id 99
calling handle(\"seven\") failed (Runtime):
error: lookup: argument 1 expects Int, got String
  at handle (plugin.vela:5)
runaway loop stopped (limit: true):
error: instruction limit exceeded
  at <script> (<eval>:1)
memory hog stopped (limit: true):
error: memory limit exceeded
  at <script> (<eval>:2)
globals: processed = 3, total = 84
handle(2) afterwards: 25
";
    assert_eq!(report, expected);
}
