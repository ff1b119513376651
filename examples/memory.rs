//! Peak memory per recorded operation, and linear scaling up to 10^8 nodes.
//!
//! ```text
//! cargo run --release --example memory                 # W1 bytes per operation at n = 10^6
//! cargo run --release --example memory -- --n 100000   # another size
//! cargo run --release --example memory -- --scale 100000000
//! cargo run --release --example memory -- --compile 1000000   # compile's peak per operation
//! ```
//!
//! The first form runs the Rosenbrock gradient (W1) twice in child processes — once through a
//! tape, once hand-written — and reports the difference of their peak resident memory divided by
//! the number of operations recorded: what the tape costs per operation, adjoints included.
//!
//! `--scale N` records a chain of about N nodes, runs backward, and prints the time per node and
//! the peak resident memory at 10^6, 10^7, … up to N, in separate processes.
//!
//! `--compile N` records W1 at size N, compiles it for replay and replays it once, and reports
//! in bytes per recorded operation what the recording holds, the peak reached while compiling
//! (the recording still alive, as it is when a user compiles), what the compiled tape keeps and
//! the peak of its first run. These figures come from a counting global allocator: bytes
//! requested and not yet freed, including capacity reserved but never written.
//!
//! Peak resident memory is read from `/proc/self/status` (`VmHWM`), so the other modes need Linux.

use std::process::Command;
use std::time::Instant;

use tapegrad::Tape;

#[path = "../benches/common/counting.rs"]
mod counting;

use counting::{live, peak, reset_peak};

#[path = "../benches/common/rosenbrock.rs"]
mod rosenbrock;

const USAGE: &str = "\
usage: memory [--n N] [--scale NODES] [--compile N]

  --n N          Rosenbrock size for the bytes-per-operation figure (default 1000000)
  --scale NODES  record chains of 10^6, 10^7, ... up to NODES nodes and report time and memory
  --compile N    bytes per operation of recording, compiling and replaying Rosenbrock of size N
  --help         print this help";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Mode::PerOp(n)) => per_op(n),
        Ok(Mode::Scale(nodes)) => scale(nodes),
        Ok(Mode::Compile(n)) => compile(n),
        Ok(Mode::Child(kind, n)) => child(&kind, n),
        Ok(Mode::Help) => println!("{USAGE}"),
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

enum Mode {
    PerOp(usize),
    Scale(usize),
    Compile(usize),
    Child(String, usize),
    Help,
}

fn parse(args: &[String]) -> Result<Mode, String> {
    let number = |flag: &str, value: Option<&String>| -> Result<usize, String> {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        let parsed: f64 = value
            .parse()
            .map_err(|_| format!("{flag} takes a whole number, got '{value}'"))?;
        if parsed < 2.0 || parsed.fract() != 0.0 || parsed > 1e10 {
            return Err(format!(
                "{flag} takes a whole number from 2 to 1e10, got '{value}'"
            ));
        }
        Ok(parsed as usize)
    };
    match args.first().map(String::as_str) {
        None => Ok(Mode::PerOp(1_000_000)),
        Some("--help" | "-h") => Ok(Mode::Help),
        Some("--n") => Ok(Mode::PerOp(number("--n", args.get(1))?)),
        Some("--scale") => Ok(Mode::Scale(number("--scale", args.get(1))?)),
        Some("--compile") => Ok(Mode::Compile(number("--compile", args.get(1))?)),
        Some("--child") => {
            let kind = args.get(1).cloned().ok_or("--child needs a kind")?;
            Ok(Mode::Child(kind, number("--child", args.get(2))?))
        }
        Some(other) => Err(format!("unknown flag '{other}'")),
    }
}

/// Peak resident memory of this process so far, in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| {
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// User and system CPU time of this process so far, in seconds (from `/proc/self/stat`, in
/// clock ticks of 1/100 s), so that time spent waiting for a busy machine is not counted.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

/// Runs one gradient in this process and prints `peak_bytes operations checksum`.
fn child(kind: &str, n: usize) {
    if kind == "chain" {
        return chain(n);
    }
    let x = rosenbrock::inputs(n);
    let (ops, checksum) = match kind {
        "tape" => {
            let tape = Tape::new();
            let vars = tape.vars(&x);
            let f = rosenbrock::on_tape(&vars);
            let g = f.backward();
            let grad: Vec<f64> = vars.iter().map(|&v| g[v]).collect();
            (tape.len(), f.value() + grad.iter().sum::<f64>())
        }
        _ => {
            let mut grad = vec![0.0; n];
            let f = rosenbrock::hand(&x, &mut grad);
            (0, f + grad.iter().sum::<f64>())
        }
    };
    println!("{} {} {}", peak_rss(), ops, checksum);
}

fn run_child(args: &[String]) -> Vec<String> {
    let exe = std::env::current_exe().expect("the example can locate its own executable");
    let out = Command::new(exe)
        .args(args)
        .output()
        .expect("the example can run itself as a child process");
    assert!(
        out.status.success(),
        "child {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn per_op(n: usize) {
    let tape = run_child(&["--child".into(), "tape".into(), n.to_string()]);
    let hand = run_child(&["--child".into(), "hand".into(), n.to_string()]);
    let tape_peak: f64 = tape[0].parse().unwrap_or(0.0);
    let hand_peak: f64 = hand[0].parse().unwrap_or(0.0);
    let ops: f64 = tape[1].parse().unwrap_or(0.0);
    if tape_peak == 0.0 {
        println!("peak resident memory is not available here (needs /proc/self/status)");
        return;
    }
    println!("W1 Rosenbrock gradient, n = {n}");
    println!("  operations recorded    {ops:.0}");
    println!("  peak RSS, tape         {:.1} MiB", tape_peak / 1048576.0);
    println!("  peak RSS, hand-written {:.1} MiB", hand_peak / 1048576.0);
    println!(
        "bytes per operation {:.1}",
        (tape_peak - hand_peak) / ops.max(1.0)
    );
}

/// Records W1 at size `n`, compiles it and replays it once, and prints the bytes per recorded
/// operation of each stage from the counting allocator.
fn compile(n: usize) {
    let x = rosenbrock::inputs(n);
    let start = reset_peak();
    let tape = Tape::new();
    let vars = tape.vars(&x);
    let f = rosenbrock::on_tape(&vars);
    let ops = tape.len();
    let recorded = live() - start;
    let before = reset_peak();
    let mut compiled = tape.compile(&vars, &[f]).expect("no custom operations");
    let compile_peak = peak() - start;
    let kept = live() - before;
    reset_peak();
    let r = compiled.run(&x).expect("no comparisons");
    let checksum = r.value() + r.grad().iter().sum::<f64>();
    let run_peak = peak() - start;
    let per_op = |bytes: usize| bytes as f64 / ops as f64;
    println!("W1 Rosenbrock compiled for replay, n = {n} ({checksum:.6e})");
    println!("  operations recorded                 {ops}");
    println!(
        "  recording (tape and input Vars)     {:8.1} MiB  {:6.1} bytes per operation",
        recorded as f64 / 1048576.0,
        per_op(recorded)
    );
    println!(
        "  peak while compiling, recording too {:8.1} MiB  {:6.1} bytes per operation",
        compile_peak as f64 / 1048576.0,
        per_op(compile_peak)
    );
    println!(
        "  compiled tape kept                  {:8.1} MiB  {:6.1} bytes per operation",
        kept as f64 / 1048576.0,
        per_op(kept)
    );
    println!(
        "  peak of the first run, all of these {:8.1} MiB  {:6.1} bytes per operation",
        run_peak as f64 / 1048576.0,
        per_op(run_peak)
    );
}

fn scale(max_nodes: usize) {
    println!("nodes         wall time   CPU time   CPU ns/node   peak RSS   bytes/node");
    let mut nodes = 1_000_000usize.min(max_nodes);
    loop {
        let out = run_child(&["--child".into(), "chain".into(), nodes.to_string()]);
        println!(
            "{:<12} {:>7} s {:>8} s {:>13} {:>6} MiB {:>12}",
            nodes, out[0], out[1], out[2], out[3], out[4]
        );
        if nodes >= max_nodes {
            break;
        }
        nodes = (nodes * 10).min(max_nodes);
    }
}

/// Records a chain of about `nodes` nodes, runs backward, and prints
/// `wall_seconds cpu_seconds cpu_ns_per_node peak_mib bytes_per_node gradient`.
fn chain(nodes: usize) {
    let start = Instant::now();
    let cpu_start = cpu_seconds();
    let tape = Tape::new();
    let x0 = tape.var(0.5);
    let mut x = x0;
    // Three nodes a step; the derivative of each step is close to 1, so adjoints stay normal.
    for _ in 0..nodes / 3 {
        x = x + x.sin() * 1e-9;
    }
    let g = x.backward()[x0];
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let peak = peak_rss();
    println!(
        "{seconds:.2} {cpu:.2} {:.1} {} {:.1} {g}",
        cpu * 1e9 / tape.len() as f64,
        peak / 1048576,
        peak as f64 / tape.len() as f64
    );
}
