//! JUnit XML in the form Jenkins' JUnit schema accepts (`harness/tests/fixtures/junit/`
//! holds the XSD the tests validate against): `<testsuites>` with one `<testsuite>` per
//! backend and Terraform version, one `<testcase>` per scenario; a failure's `message` is the
//! first broken expectation, a skip's is its reason, and `<system-out>` is the evidence.

use std::fmt::Write as _;

use super::text::printable;
use crate::conformance::result::{Outcome, RunResult};

/// `text` escaped for an XML attribute or text node.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` escaped for a text node (newlines kept as they are, for readability).
fn escape_text(text: &str) -> String {
    escape(text).replace("&#10;", "\n").replace("&#9;", "\t")
}

/// Seconds with at most three decimals, as the schema's `SUREFIRE_TIME` allows.
fn seconds(value: f64) -> String {
    format!("{:.3}", value.max(0.0))
}

/// The run as JUnit XML.
#[must_use]
pub fn junit(run: &RunResult) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"georep-harness conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{}\">",
        run.suites.iter().map(|s| s.cases.len()).sum::<usize>(),
        run.count("failed"),
        seconds(run.wall_seconds)
    );
    for suite in &run.suites {
        let classname = format!(
            "conformance.{}.terraform_{}",
            suite.backend,
            suite.terraform.replace('.', "_")
        );
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\" package=\"conformance\">",
            escape(&suite.name()),
            suite.cases.len(),
            suite.count("failed"),
            suite.count("skipped"),
            seconds(suite.seconds),
            escape(&suite.started_at)
        );
        xml.push_str("    <properties>\n");
        for (name, value) in [
            ("backend", suite.backend.as_str()),
            ("target", suite.target.as_str()),
            ("terraform", suite.terraform.as_str()),
        ] {
            let _ = writeln!(
                xml,
                "      <property name=\"{name}\" value=\"{}\"/>",
                escape(value)
            );
        }
        xml.push_str("    </properties>\n");
        for case in &suite.cases {
            let _ = writeln!(
                xml,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
                escape(&case.id),
                escape(&classname),
                seconds(case.seconds)
            );
            match &case.outcome {
                Outcome::Passed => {}
                Outcome::Failed { message } => {
                    let _ = writeln!(
                        xml,
                        "      <failure type=\"expectation\" message=\"{}\">{}</failure>",
                        escape(message),
                        escape_text(&format!("{}\n{message}", case.claim))
                    );
                }
                Outcome::Skipped { reason } => {
                    let _ = writeln!(xml, "      <skipped message=\"{}\"/>", escape(reason));
                }
            }
            let _ = writeln!(
                xml,
                "      <system-out>{}</system-out>",
                escape_text(&format!("claim: {}\n{}", case.claim, case.evidence))
            );
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::result::tests::sample;

    #[test]
    fn markup_in_ids_messages_and_evidence_is_escaped() {
        let xml = junit(&sample());
        assert!(
            xml.contains("name=\"BADINPUT-&lt;odd&gt; &amp; &quot;quoted&quot;\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "message=\"expected one &quot;Invalid&quot; &lt;diagnostic&gt; &amp; got 0\""
            ),
            "{xml}"
        );
        assert!(xml.contains("]]&gt; red"), "{xml}");
        assert!(!xml.contains('\u{1b}') && !xml.contains('\u{7}'));
    }

    /// Validates `xml` with `xmllint` against Jenkins' JUnit schema (the fixture beside the
    /// harness's tests); fails, never skips, without xmllint.
    pub(crate) fn assert_valid_junit(xml: &str) {
        let xsd = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/junit/junit-10.xsd");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.xml");
        std::fs::write(&file, xml).unwrap();
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(&xsd)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "run xmllint ({e}): install it with scripts/install-services.sh (libxml2-utils)"
                )
            });
        assert!(
            out.status.success(),
            "the JUnit report does not validate against {}:\n{}\n{xml}",
            xsd.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn the_report_validates_against_jenkins_junit_schema() {
        assert_valid_junit(&junit(&sample()));
        let mut two = sample();
        let mut second = two.suites[0].clone();
        second.terraform = "1.11.4".to_owned();
        two.suites.push(second);
        assert_valid_junit(&junit(&two));
    }

    #[test]
    fn a_report_the_schema_refuses_is_caught() {
        // The check can fail: a testcase without its required name attribute.
        let xml = junit(&sample()).replacen("<testcase name=\"SCEN-three-sites\"", "<testcase", 1);
        let result = std::panic::catch_unwind(|| assert_valid_junit(&xml));
        assert!(
            result.is_err(),
            "xmllint accepted a testcase without a name"
        );
    }

    #[test]
    fn counts_and_times_are_in_the_suite_element() {
        let xml = junit(&sample());
        assert!(
            xml.contains("<testsuite name=\"conformance local terraform 1.0.3\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"12.500\""),
            "{xml}"
        );
        assert!(
            xml.contains("<skipped message=\"needs fault-injection\"/>"),
            "{xml}"
        );
        assert!(xml.contains("time=\"10.250\""), "{xml}");
    }
}
