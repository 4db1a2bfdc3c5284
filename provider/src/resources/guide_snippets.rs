//! The Terraform snippets of the guides and the README (fenced `terraform` or `hcl` blocks)
//! against the schemas: every argument a snippet sets in one of our resources, data sources,
//! ephemeral resources, the provider block or their nested blocks exists there, and every
//! type of ours it names exists. The examples are validated by Terraform itself
//! (`provider/tests/it/e2e/examples.rs`); the guides' snippets are fragments (`{ ... }`,
//! `# ...`, a lone `operator { ... }`), so they are read line by line instead: `NAME {` or
//! `TYPE "a" "b" {` opens a block, `}` closes one, `NAME = ...` sets an argument.
//!
//! Blocks that are not ours (`terraform`, `moved`, `import`, another provider's resources,
//! Terraform's CLI configuration)
//! and object values (`x = {`) are not checked. A nested block at the top of a snippet must
//! exist in some schema of ours, and its arguments in one of those blocks.

use std::path::{Path, PathBuf};

use crate::framework::{ProviderServer, SchemaResponse};
use crate::resources::QuayProvider;
use crate::tfvalue::Block;

/// Meta-arguments Terraform accepts in every resource and data block.
const META_ARGUMENTS: &[&str] = &["count", "for_each", "depends_on", "provider"];
/// Meta-blocks Terraform accepts in every resource block.
const META_BLOCKS: &[&str] = &["lifecycle", "timeouts", "provisioner", "connection"];

/// One snippet: where it is and its lines.
struct Snippet {
    file: PathBuf,
    first_line: usize,
    lines: Vec<String>,
}

/// Every fenced `terraform`/`hcl` block of `text`.
fn snippets(file: &Path, text: &str) -> Vec<Snippet> {
    let mut all = Vec::new();
    let mut current: Option<Snippet> = None;
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match current.take() {
            None if fence == "```terraform" || fence == "```hcl" => {
                current = Some(Snippet {
                    file: file.to_owned(),
                    first_line: index + 2,
                    lines: Vec::new(),
                });
            }
            None => {}
            Some(snippet) if fence.starts_with("```") => all.push(snippet),
            Some(mut snippet) => {
                snippet.lines.push(line.to_owned());
                current = Some(snippet);
            }
        }
    }
    all
}

/// The line without its comment (`#` or `//` outside a string), trimmed.
fn code(line: &str) -> &str {
    let mut in_string = false;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_string = !in_string,
            b'#' if !in_string => return line[..i].trim(),
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return line[..i].trim(),
            _ => {}
        }
    }
    line.trim()
}

/// The blocks a line's block may be: `None` when it is not checked.
type Frame<'a> = Option<Vec<&'a Block>>;

/// Every nested block named `name` anywhere in `block`.
fn nested_named<'a>(block: &'a Block, name: &str, found: &mut Vec<&'a Block>) {
    for nested in &block.block_types {
        if nested.type_name == name {
            found.push(&nested.block);
        }
        nested_named(&nested.block, name, found);
    }
}

/// What is wrong with `snippet`, one line each.
fn check(snippet: &Snippet, schemas: &SchemaResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let roots: Vec<&Block> = std::iter::once(&schemas.provider.block)
        .chain(schemas.resources.values().map(|s| &s.block))
        .chain(schemas.data_sources.values().map(|s| &s.block))
        .chain(schemas.ephemeral_resources.values().map(|s| &s.block))
        .collect();
    for (offset, raw) in snippet.lines.iter().enumerate() {
        let line = code(raw);
        let at = format!("{}:{}", snippet.file.display(), snippet.first_line + offset);
        if line.is_empty() || line == "..." {
            continue;
        }
        if line.starts_with('}') {
            stack.pop();
            continue;
        }
        let opens = line.ends_with('{');
        let closes_inline = line.contains('{') && line.ends_with('}');
        let words: Vec<&str> = line.split_whitespace().collect();
        let top = stack.last().cloned().flatten();
        if let Some((name, _)) = line.split_once('=').filter(|(n, _)| !n.contains('{')) {
            let name = name.trim();
            if let Some(blocks) = &top
                && !META_ARGUMENTS.contains(&name)
                && !blocks
                    .iter()
                    .any(|b| b.attributes.iter().any(|a| a.name == name))
            {
                problems.push(format!("{at}: argument {name:?} is in no schema here"));
            }
            if opens {
                // An object value: its keys are not arguments.
                stack.push(None);
            }
            continue;
        }
        if !(opens || closes_inline) {
            continue;
        }
        let frame: Frame<'_> = match words.first().copied() {
            Some(kind @ ("resource" | "data" | "ephemeral")) if stack.is_empty() => {
                let ty = words.get(1).map_or("", |w| w.trim_matches('"'));
                let map = match kind {
                    "resource" => &schemas.resources,
                    "data" => &schemas.data_sources,
                    _ => &schemas.ephemeral_resources,
                };
                match map.get(ty) {
                    Some(schema) => Some(vec![&schema.block]),
                    None if ty.starts_with("quay_") => {
                        problems.push(format!("{at}: {kind} type {ty} does not exist"));
                        None
                    }
                    None => None,
                }
            }
            Some("provider") if stack.is_empty() => {
                let name = words.get(1).map_or("", |w| w.trim_matches('"'));
                (name == "quay").then(|| vec![&schemas.provider.block])
            }
            Some(name) => match (&top, stack.is_empty()) {
                (Some(blocks), _) => {
                    let mut found = Vec::new();
                    for block in blocks {
                        found.extend(
                            block
                                .block_types
                                .iter()
                                .filter(|n| n.type_name == name)
                                .map(|n| &n.block),
                        );
                    }
                    if found.is_empty() && !META_BLOCKS.contains(&name) {
                        problems.push(format!("{at}: block {name:?} is in no schema here"));
                    }
                    (!found.is_empty()).then_some(found)
                }
                (None, true)
                    if !matches!(
                        name,
                        "terraform"
                            | "moved"
                            | "import"
                            | "variable"
                            | "output"
                            | "locals"
                            | "module"
                            | "check"
                            | "removed"
                            // Terraform's CLI configuration (a `.terraformrc`).
                            | "provider_installation"
                            | "credentials"
                            | "host"
                    ) =>
                {
                    let mut found = Vec::new();
                    for root in &roots {
                        nested_named(root, name, &mut found);
                    }
                    if found.is_empty() {
                        problems.push(format!("{at}: block {name:?} is in no schema of ours"));
                    }
                    (!found.is_empty()).then_some(found)
                }
                (None, _) => None,
            },
            None => None,
        };
        if opens {
            stack.push(frame);
        }
    }
    problems
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The README and every guide.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let guides = repo().join("docs/guides");
    let mut listed: Vec<PathBuf> = std::fs::read_dir(&guides)
        .unwrap_or_else(|e| panic!("read {}: {e}", guides.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    listed.sort();
    files.extend(listed);
    files
}

#[test]
fn guide_and_readme_snippets_name_only_what_the_schemas_have() {
    let schemas = ProviderServer::new(QuayProvider).get_schema();
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in documents() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let relative = file.strip_prefix(repo()).unwrap_or(&file).to_owned();
        for snippet in snippets(&relative, &text) {
            checked += 1;
            problems.extend(check(&snippet, &schemas));
        }
    }
    assert!(checked >= 6, "only {checked} snippets found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_misspelt_argument_or_block_is_found() {
    let schemas = ProviderServer::new(QuayProvider).get_schema();
    let text = "```terraform\n\
        resource \"quay_georep_site\" \"a\" {\n  \
          acknowledge_key_change = [] # misspelt\n  \
          location = \"us_east\"\n  \
          config_files = {\n    anything = \"goes\"\n  }\n  \
          operatr {\n  }\n\
        }\n\
        operator {\n  methodd = \"olm\"\n}\n\
        resource \"quay_georep_nothing\" \"b\" { ... }\n\
        moved {\n  from = x\n}\n\
        ```\n";
    let all = snippets(Path::new("guide.md"), text);
    assert_eq!(all.len(), 1);
    let problems = check(&all[0], &schemas);
    let named = |what: &str| problems.iter().any(|p| p.contains(what));
    assert!(named("\"acknowledge_key_change\""), "{problems:#?}");
    assert!(named("\"operatr\""), "{problems:#?}");
    assert!(named("\"methodd\""), "{problems:#?}");
    assert!(named("quay_georep_nothing"), "{problems:#?}");
    assert!(!named("\"location\""), "{problems:#?}");
    assert!(
        !named("\"anything\""),
        "object keys are not arguments: {problems:#?}"
    );
    assert!(!named("\"from\""), "moved is not ours: {problems:#?}");
    assert!(problems[0].starts_with("guide.md:3:"), "{problems:#?}");
}
