//! The workspace's shape, checked: no import cycle between the files of a crate, and no
//! non-test source file of 700 lines or more.
//!
//! Why a test and not a tool: `cargo modules` needs rust-analyzer's crates (a long build on
//! our 2 cores) and reports module cycles, not file cycles. This test parses every file of
//! `provider/src` and `harness/src` with `syn`, resolves each `crate::`/`super::`/`self::`
//! path (and each path through a name a `use` brought in) to the file that defines the item,
//! following `pub use` re-exports to the defining file, and looks for strongly connected
//! groups of files. Declaring a child module (`mod x;`) is not an edge; a parent that
//! re-exports a child (`pub use x::Item`) and a child that uses an item defined in that
//! parent are a cycle, so such shared items live in a module of their own.
//!
//! Test-only code does not count: files declared under `#[cfg(test)]` and inline
//! `#[cfg(test)]` items are skipped, for edges and for lines alike. Paths inside macro
//! invocations and doc links are not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The size a non-test source file must stay below.
const MAX_LINES: usize = 700;

/// One module of a crate: the file it lives in and what it defines and imports.
#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    /// Names of items defined here (functions, types, traits, consts, macros, ...).
    items: BTreeSet<String>,
    /// Child modules: name to full module path.
    children: BTreeMap<String, Vec<String>>,
    /// `use` declarations: local name to the absolute path it names (`crate` resolved).
    uses: BTreeMap<String, Vec<String>>,
}

/// Every module of one crate, by absolute module path (`["crate", "sim", "store"]`).
#[derive(Debug, Default)]
struct Crate {
    modules: BTreeMap<Vec<String>, Module>,
    /// Non-test line count per file.
    lines: BTreeMap<PathBuf, usize>,
}

fn has_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Meta>()
                .is_ok_and(|meta| meta.path().is_ident("test"))
    })
}

/// The lines an item spans (with its attributes).
fn item_lines(item: &syn::Item) -> usize {
    use syn::spanned::Spanned;
    let span = item.span();
    let first = match item {
        syn::Item::Mod(m) => m.attrs.first().map_or(span.start().line, |a| {
            a.span().start().line.min(span.start().line)
        }),
        _ => span.start().line,
    };
    span.end().line.saturating_sub(first) + 1
}

impl Crate {
    /// Parse the crate whose root file is `root` (`lib.rs`).
    fn load(root: &Path) -> Self {
        let mut krate = Crate::default();
        krate.load_file(root, vec!["crate".to_owned()]);
        krate.anchor_relative_uses();
        krate
    }

    /// Turn `?a::b` uses into `here::a::b` where `a` is a child module of `here` (Rust 2018
    /// paths), and drop them otherwise (external crates).
    fn anchor_relative_uses(&mut self) {
        let known: BTreeSet<Vec<String>> = self.modules.keys().cloned().collect();
        for (here, module) in &mut self.modules {
            module.uses.retain(|_, target| {
                if target.first().map(String::as_str) != Some("?") {
                    return true;
                }
                let mut local = here.clone();
                local.extend_from_slice(&target[1..]);
                if known.contains(&local[..here.len() + 1]) {
                    *target = local;
                    true
                } else {
                    false
                }
            });
        }
    }

    fn load_file(&mut self, file: &Path, path: Vec<String>) {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let ast =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", file.display()));
        let test_lines: usize = ast
            .items
            .iter()
            .filter(|item| matches!(item, syn::Item::Mod(m) if has_cfg_test(&m.attrs) && m.content.is_some()))
            .map(item_lines)
            .sum();
        self.lines.insert(
            file.to_owned(),
            text.lines().count().saturating_sub(test_lines),
        );
        self.load_items(file, &path, &ast.items);
    }

    fn load_items(&mut self, file: &Path, path: &[String], items: &[syn::Item]) {
        let mut module = Module {
            file: file.to_owned(),
            ..Module::default()
        };
        let dir = module_dir(file, path);
        for item in items {
            match item {
                syn::Item::Mod(m) if has_cfg_test(&m.attrs) => {}
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let mut child = path.to_vec();
                    child.push(name.clone());
                    module.children.insert(name.clone(), child.clone());
                    match &m.content {
                        Some((_, inner)) => self.load_items(file, &child, inner),
                        None => {
                            let flat = dir.join(format!("{name}.rs"));
                            let nested = dir.join(&name).join("mod.rs");
                            let child_file = if flat.exists() { flat } else { nested };
                            self.load_file(&child_file, child);
                        }
                    }
                }
                syn::Item::Use(u) => collect_use(&u.tree, path, &mut Vec::new(), &mut module.uses),
                other => {
                    if let Some(name) = item_name(other) {
                        module.items.insert(name);
                    }
                }
            }
        }
        self.modules.insert(path.to_vec(), module);
    }

    /// The file that defines what `path` names, following re-exports (bounded, so a
    /// re-export loop cannot hang the test).
    fn resolve(&self, path: &[String], depth: usize) -> Option<PathBuf> {
        if depth > 16 || path.first().map(String::as_str) != Some("crate") {
            return None;
        }
        let mut current = vec!["crate".to_owned()];
        for (i, segment) in path.iter().enumerate().skip(1) {
            let module = self.modules.get(&current)?;
            if let Some(child) = module.children.get(segment) {
                current.clone_from(child);
                continue;
            }
            if module.items.contains(segment) {
                return Some(module.file.clone());
            }
            if let Some(target) = module.uses.get(segment) {
                let mut next = target.clone();
                next.extend_from_slice(&path[i + 1..]);
                return self
                    .resolve(&next, depth + 1)
                    .or_else(|| Some(module.file.clone()));
            }
            return Some(module.file.clone());
        }
        // The path names a module itself: using a module is not an edge to its file.
        None
    }
}

/// The directory that holds the files of `path`'s child modules.
fn module_dir(file: &Path, path: &[String]) -> PathBuf {
    let parent = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if path.len() == 1 || stem == "mod" {
        parent
    } else {
        parent.join(stem)
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    Some(match item {
        syn::Item::Const(i) => i.ident.to_string(),
        syn::Item::Enum(i) => i.ident.to_string(),
        syn::Item::Fn(i) => i.sig.ident.to_string(),
        syn::Item::Macro(i) => i.ident.as_ref()?.to_string(),
        syn::Item::Static(i) => i.ident.to_string(),
        syn::Item::Struct(i) => i.ident.to_string(),
        syn::Item::Trait(i) => i.ident.to_string(),
        syn::Item::Type(i) => i.ident.to_string(),
        syn::Item::Union(i) => i.ident.to_string(),
        _ => return None,
    })
}

/// A `use` path made absolute: `crate::`, `self::` and `super::` paths resolved against
/// `here`, any other path kept as written after a `?` marker (an external crate, or a child
/// module of `here`, told apart by [`Crate::anchor_relative_uses`] once every module is known).
fn anchored(segments: &[String], here: &[String]) -> Vec<String> {
    absolute(segments, here).unwrap_or_else(|| {
        let mut out = vec!["?".to_owned()];
        out.extend_from_slice(segments);
        out
    })
}

/// Make `segments` (as written in module `here`) absolute, or `None` for external paths.
fn absolute(segments: &[String], here: &[String]) -> Option<Vec<String>> {
    let mut out: Vec<String> = match segments.first().map(String::as_str) {
        Some("crate") => vec!["crate".to_owned()],
        Some("self") => here.to_vec(),
        Some("super") => {
            let mut p = here.to_vec();
            p.pop();
            p
        }
        _ => return None,
    };
    for segment in &segments[1..] {
        if segment == "super" {
            out.pop();
        } else {
            out.push(segment.clone());
        }
    }
    Some(out)
}

fn collect_use(
    tree: &syn::UseTree,
    here: &[String],
    prefix: &mut Vec<String>,
    uses: &mut BTreeMap<String, Vec<String>>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use(&p.tree, here, prefix, uses);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut full = prefix.clone();
            if name != "self" {
                full.push(name.clone());
            }
            let local = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                name
            };
            uses.insert(local, anchored(&full, here));
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            uses.insert(r.rename.to_string(), anchored(&full, here));
        }
        syn::UseTree::Glob(_) => {
            let target = anchored(prefix, here);
            uses.insert(format!("*{}", target.join("::")), target);
        }
        syn::UseTree::Group(g) => {
            for item in &g.items {
                collect_use(item, here, prefix, uses);
            }
        }
    }
}

/// Collects every path of one module's code (not its child modules', not test code).
struct PathCollector {
    paths: Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.paths
            .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // Child modules are visited as modules of their own.
    }

    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {
        // `use` declarations are resolved through `Module::uses`.
    }
}

/// Edges `from file -> to file`, with one example path each, for one crate.
fn edges(krate: &Crate) -> BTreeMap<(PathBuf, PathBuf), String> {
    let mut out = BTreeMap::new();
    let mut add = |from: &Path, to: PathBuf, why: String| {
        if from != to {
            out.entry((from.to_owned(), to)).or_insert(why);
        }
    };
    // Parse each file once more to visit the code of every module in it.
    let files: BTreeSet<&PathBuf> = krate.modules.values().map(|m| &m.file).collect();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let Ok(ast) = syn::parse_file(&text) else {
            continue;
        };
        let path = krate
            .modules
            .iter()
            .filter(|(_, m)| &m.file == file)
            .map(|(p, _)| p.clone())
            .min_by_key(Vec::len)
            .unwrap_or_default();
        visit_module(krate, file, &path, &ast.items, &mut add);
    }
    out
}

fn visit_module(
    krate: &Crate,
    file: &Path,
    path: &[String],
    items: &[syn::Item],
    add: &mut impl FnMut(&Path, PathBuf, String),
) {
    let Some(module) = krate.modules.get(path) else {
        return;
    };
    for (local, target) in &module.uses {
        if let Some(to) = krate.resolve(target, 0) {
            add(file, to, format!("use {} ({local})", target.join("::")));
        }
    }
    let mut collector = PathCollector { paths: Vec::new() };
    for item in items {
        match item {
            syn::Item::Mod(m) if has_cfg_test(&m.attrs) => {}
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut child = path.to_vec();
                    child.push(m.ident.to_string());
                    visit_module(krate, file, &child, inner, add);
                }
            }
            syn::Item::Impl(i) if has_cfg_test(&i.attrs) => {}
            syn::Item::Fn(f) if has_cfg_test(&f.attrs) => {}
            other => collector.visit_item(other),
        }
    }
    for segments in collector.paths {
        let absolute_path = absolute(&segments, path).or_else(|| {
            let first = segments.first()?;
            let mut full = match module.uses.get(first) {
                Some(target) => target.clone(),
                None if module.children.contains_key(first) => {
                    let mut child = path.to_vec();
                    child.push(first.clone());
                    child
                }
                None => return None,
            };
            full.extend_from_slice(&segments[1..]);
            Some(full)
        });
        if let Some(abs) = absolute_path
            && let Some(to) = krate.resolve(&abs, 0)
        {
            add(file, to, segments.join("::"));
        }
    }
}

/// Strongly connected groups of more than one file (Tarjan's algorithm).
fn cycles(edges: &BTreeMap<(PathBuf, PathBuf), String>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        graph: BTreeMap<&'a PathBuf, Vec<&'a PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        next: usize,
        groups: Vec<Vec<PathBuf>>,
    }
    fn connect<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).cloned().unwrap_or_default() {
            if !s.index.contains_key(w) {
                connect(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.groups.push(group);
            }
        }
    }
    let mut state = State {
        graph: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        groups: Vec::new(),
    };
    for (from, to) in edges.keys() {
        state.graph.entry(from).or_default().push(to);
        state.graph.entry(to).or_default();
    }
    let nodes: Vec<&PathBuf> = state.graph.keys().copied().collect();
    for v in nodes {
        if !state.index.contains_key(v) {
            connect(&mut state, v);
        }
    }
    state.groups
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the workspace root")
        .to_owned()
}

fn crate_roots() -> Vec<PathBuf> {
    let root = workspace_root();
    vec![
        root.join("provider/src/lib.rs"),
        root.join("harness/src/lib.rs"),
    ]
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Describe each cycle with the edges inside it, so the message says what to move.
fn describe(groups: &[Vec<PathBuf>], edges: &BTreeMap<(PathBuf, PathBuf), String>) -> String {
    let mut out = String::new();
    for group in groups {
        out.push_str("cycle between:\n");
        for ((from, to), why) in edges {
            if group.contains(from) && group.contains(to) {
                out.push_str(&format!(
                    "  {} -> {} ({why})\n",
                    relative(from),
                    relative(to)
                ));
            }
        }
    }
    out
}

#[test]
fn no_file_of_either_crate_is_part_of_an_import_cycle() {
    let mut report = String::new();
    for root in crate_roots() {
        let krate = Crate::load(&root);
        let edges = edges(&krate);
        assert!(
            edges.len() > 20,
            "{}: only {} edges found; the checker is not reading the crate",
            relative(&root),
            edges.len()
        );
        report.push_str(&describe(&cycles(&edges), &edges));
    }
    assert!(report.is_empty(), "import cycles between files:\n{report}");
}

#[test]
fn no_non_test_source_file_reaches_the_size_limit() {
    let mut too_big = Vec::new();
    for root in crate_roots() {
        let mut krate = Crate::load(&root);
        let main = root.with_file_name("main.rs");
        if main.exists() {
            krate.load_file(&main, vec!["main".to_owned()]);
        }
        assert!(krate.lines.len() > 10, "{}: no files read", relative(&root));
        for (file, lines) in &krate.lines {
            if *lines >= MAX_LINES {
                too_big.push(format!("{} ({lines} lines)", relative(file)));
            }
        }
    }
    assert!(
        too_big.is_empty(),
        "files of {MAX_LINES} non-test lines or more (move inline test modules to a sibling \
         tests.rs, or split the file by concern):\n  {}",
        too_big.join("\n  ")
    );
}

/// The checker itself: a two-file cycle through a re-export is found, and the same files
/// without the back edge are not.
#[test]
fn the_cycle_check_sees_a_cycle_through_a_re_export() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "mod a;\nmod b;\npub use a::Thing;\n");
    write("a.rs", "pub struct Thing;\npub fn f() { crate::b::g(); }\n");
    write("b.rs", "pub fn g() { let _ = crate::Thing; }\n");
    let root = dir.path().join("lib.rs");
    let krate = Crate::load(&root);
    let found = edges(&krate);
    assert_eq!(cycles(&found).len(), 1, "{found:?}");

    write("b.rs", "pub fn g() {}\n");
    let krate = Crate::load(&root);
    let found = edges(&krate);
    assert!(cycles(&found).is_empty(), "{found:?}");
}
