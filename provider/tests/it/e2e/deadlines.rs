//! A cluster that accepts connections and never answers, through the real Terraform CLI: the
//! plan's reads give up within their budget (a warning: the operators were not compared), the
//! site's `timeouts` end the apply with a timeout diagnostic, and Ctrl-C during the apply
//! (SIGINT to Terraform, which sends the provider `Stop`) ends it with an interruption. The
//! outcome is asserted, never how long it took.

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use georep_harness::terraform::{Diagnostic, TerraformBinary};

use super::{for_each_terraform, spawn_apply, workdir};

/// A TCP listener on a free loopback port that accepts every connection, reads what it is
/// sent and never answers. Counts the connections it accepted.
struct Silent {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl Silent {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut sink = [0_u8; 4096];
                    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        Self { url, accepted }
    }
}

fn config(url: &str, timeouts: &str) -> String {
    let provider = format!(
        "provider \"quay\" {{\n  cluster \"us_east\" {{\n    host  = \"{url}\"\n    token = \"silent-cluster-token\"\n  }}\n}}\n"
    );
    super::site_resource::one_site(&provider, timeouts, "")
}

fn errors(diags: impl Iterator<Item = Diagnostic>) -> Vec<Diagnostic> {
    diags.filter(Diagnostic::is_error).collect()
}

#[test]
fn timeouts_end_an_apply_against_a_cluster_that_never_answers() {
    let silent = Silent::start();
    for_each_terraform(|tf: &TerraformBinary| {
        let dir = workdir(tf, "deadline_silent_cluster");
        dir.write_main_tf(&config(
            &silent.url,
            "  timeouts {\n    create = \"3s\"\n  }\n",
        ))
        .unwrap();
        let applied = dir.apply().unwrap();
        assert!(!applied.succeeded());
        // The plan's read of the operator gave up within the create timeout, as a warning.
        assert!(
            applied.events.diagnostics().any(|d| !d.is_error()
                && d.summary == "Operator Versions Not Compared"
                && d.detail.contains("us_east")),
            "{:#?}",
            applied.events.diagnostics().collect::<Vec<_>>()
        );
        let errs = errors(applied.events.diagnostics().cloned());
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].detail.contains("timed out"), "{:#?}", errs[0]);
        assert!(errs[0].detail.contains("us_east"), "{:#?}", errs[0]);
        assert!(
            silent.accepted.load(Ordering::SeqCst) > 0,
            "the provider never connected"
        );
    });
}

#[test]
fn ctrl_c_stops_an_apply_against_a_cluster_that_never_answers() {
    for_each_terraform(|tf: &TerraformBinary| {
        let silent = Silent::start();
        let dir = workdir(tf, "deadline_ctrl_c");
        // The default create timeout (20 minutes): only the interrupt can end this apply.
        dir.write_main_tf(&config(&silent.url, "")).unwrap();
        let (mut child, log) = spawn_apply(&dir);
        let group = format!("-{}", child.id());
        let kill_group = || {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &group])
                .status();
        };
        // Wait until the apply itself (not its plan) is stuck on the cluster: Terraform 1.0.3
        // takes a Ctrl-C during the plan only once the plan ends, and then applies all the
        // same without asking the provider to stop (its `Stop called ... stop complete`), so
        // only an interrupt during the apply reaches the provider. A generous bound, not a
        // measure.
        let mut applying = false;
        for _ in 0..12_000 {
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            // The site's create, not a data source's read (also an `apply_start`).
            let creating = log_text.lines().any(|line| {
                line.contains("\"type\":\"apply_start\"") && line.contains("\"action\":\"create\"")
            });
            if creating && silent.accepted.load(Ordering::SeqCst) > 0 {
                applying = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if !applying {
            kill_group();
            panic!(
                "the apply never started against the cluster:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        // The create's first request is on its way to the silent cluster.
        std::thread::sleep(Duration::from_millis(500));
        // SIGINT to the apply's process group, as a terminal's Ctrl-C sends it: Terraform
        // runs itself again under a parent that watches for panics (panicwrap), and that
        // parent does not pass a SIGINT of its own on. Terraform then asks the provider to
        // stop; the provider, in the same group, ignores the signal itself.
        let signalled = std::process::Command::new("kill")
            .args(["-INT", "--", &group])
            .status()
            .unwrap();
        assert!(signalled.success());
        let mut ended = None;
        for _ in 0..12_000 {
            if let Some(status) = child.try_wait().unwrap() {
                ended = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        let Some(status) = ended else {
            kill_group();
            let _ = child.wait();
            panic!("the apply did not stop on SIGINT:\n{output}");
        };
        assert!(!status.success(), "{output}");
        assert!(output.contains("interrupted while waiting"), "{output}");
    });
}
