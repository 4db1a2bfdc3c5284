//! The reference pages under `docs/`, generated from the schemas so they cannot drift from the
//! code: a test renders every page and compares it with the file (`UPDATE_GOLDEN=1` rewrites
//! them). Examples come from `examples/`, which the end-to-end tests validate with Terraform.
//!
//! The pages follow the layout the Terraform and OpenTofu registries render (the one
//! hashicorp/terraform-plugin-docs writes): front matter with `page_title`, `subcategory` and
//! `description`, "Example Usage", "Schema" split into Required, Optional and Read-Only with a
//! "Nested Schema" section per block, and "Import" for resources that can be imported.

use std::fmt::Write as _;

use crate::tfvalue::{Attribute, Block, NestedBlock, Nesting, Presence, Schema, Type};

/// What a page documents.
pub(crate) enum Kind {
    Provider,
    DataSource,
    Resource,
    EphemeralResource,
}

/// Renders one reference page; `import` is the example `terraform import` command line of a
/// resource that can be imported (`terraform import <address> <id>`).
pub(crate) fn render_page(
    kind: &Kind,
    name: &str,
    schema: &Schema,
    example: &str,
    import: Option<&str>,
) -> String {
    let description = capitalise(&schema.block.description);
    let (page_title, title) = match kind {
        Kind::Provider => (format!("Provider: {name}"), format!("{name} Provider")),
        Kind::DataSource => (
            format!("{name} Data Source - {PROVIDER}"),
            format!("{name} (Data Source)"),
        ),
        Kind::Resource => (
            format!("{name} Resource - {PROVIDER}"),
            format!("{name} (Resource)"),
        ),
        Kind::EphemeralResource => (
            format!("{name} Ephemeral Resource - {PROVIDER}"),
            format!("{name} (Ephemeral Resource)"),
        ),
    };
    let subcategory = match kind {
        Kind::Provider => "",
        Kind::DataSource | Kind::Resource | Kind::EphemeralResource => subcategory(name),
    };
    let mut page = format!(
        "---\npage_title: \"{page_title}\"\nsubcategory: \"{subcategory}\"\ndescription: |-\n  \
         {description}.\n---\n\n<!-- Generated from the provider's schema by `cargo test -p \
         terraform-provider-quay docs` with UPDATE_GOLDEN=1; do not edit. -->\n\n# {title}\n\n\
         {description}.\n\n## Example Usage\n\n```terraform\n{}\n```\n\n## Schema\n",
        example.trim_end()
    );
    let mut nested = Vec::new();
    schema_lists(&mut page, "###", "", &schema.block, &mut nested);
    while !nested.is_empty() {
        let (anchor, path, block) = nested.remove(0);
        let _ = write!(
            page,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{path}`\n"
        );
        let mut deeper = Vec::new();
        schema_lists(&mut page, "", &path, &block.block, &mut deeper);
        nested.splice(0..0, deeper);
    }
    if let Some(command) = import {
        import_section(&mut page, command);
    }
    page
}

/// The provider's name, as page titles write it.
const PROVIDER: &str = "quay";

/// The registry's navigation group of a data source or resource.
fn subcategory(name: &str) -> &'static str {
    match name {
        "quay_georep_config" => "Configuration",
        "quay_georep_upgrade" | "quay_georep_versions" => "Upgrades",
        _ => "Sites",
    }
}

/// A block waiting for its "Nested Schema" section: anchor, dotted path, block.
type Pending<'a> = (String, String, &'a NestedBlock);

/// The Required, Optional and Read-Only lists of `block`'s attributes and nested blocks, under
/// `level` headings (top level) or as labels (nested schemas, `level` empty); nested blocks go
/// to `pending` for their own section.
fn schema_lists<'a>(
    page: &mut String,
    level: &str,
    path: &str,
    block: &'a Block,
    pending: &mut Vec<Pending<'a>>,
) {
    let mut groups: [(&str, Vec<String>); 3] = [
        ("Required", Vec::new()),
        ("Optional", Vec::new()),
        ("Read-Only", Vec::new()),
    ];
    for attribute in &block.attributes {
        let group = match attribute.presence {
            Presence::Required => 0,
            Presence::Optional | Presence::OptionalComputed => 1,
            Presence::Computed => 2,
        };
        groups[group].1.push(attribute_line(attribute));
    }
    for nested in &block.block_types {
        let nested_path = if path.is_empty() {
            nested.type_name.clone()
        } else {
            format!("{path}.{}", nested.type_name)
        };
        let anchor = format!("nestedblock--{}", nested_path.replace('.', "--"));
        let required = nested.min_items > 0;
        let how = match nested.nesting {
            Nesting::Single | Nesting::Group => "Block".to_owned(),
            Nesting::List if nested.max_items > 0 => {
                format!("Block List, Max: {}", nested.max_items)
            }
            Nesting::List => "Block List".to_owned(),
            Nesting::Set if nested.max_items > 0 => {
                format!("Block Set, Max: {}", nested.max_items)
            }
            Nesting::Set => "Block Set".to_owned(),
            Nesting::Map => "Block Map, one per label".to_owned(),
        };
        let deprecated = if nested.block.deprecated {
            ", Deprecated"
        } else {
            ""
        };
        groups[usize::from(!required)].1.push(format!(
            "- `{}` ({how}{deprecated}) {}. (see [below for nested schema](#{anchor}))",
            nested.type_name, nested.block.description
        ));
        pending.push((anchor, nested_path, nested));
    }
    for (heading, lines) in groups {
        if lines.is_empty() {
            continue;
        }
        if level.is_empty() {
            let _ = write!(page, "\n{heading}:\n\n");
        } else {
            let _ = write!(page, "\n{level} {heading}\n\n");
        }
        for line in lines {
            page.push_str(&line);
            page.push('\n');
        }
    }
}

/// One attribute as a list item; its description as the schema words it (lowercase, since
/// descriptions often begin with a value such as `olm`).
fn attribute_line(attribute: &Attribute) -> String {
    let mut flags = vec![type_name(&attribute.ty)];
    if attribute.sensitive {
        flags.push("Sensitive".to_owned());
    }
    if attribute.deprecated {
        flags.push("Deprecated".to_owned());
    }
    if attribute.write_only {
        flags.push("Write-only".to_owned());
    }
    format!(
        "- `{}` ({}) {}.",
        attribute.name,
        flags.join(", "),
        attribute.description
    )
}

/// The "Import" section: the CLI command and the equivalent `import` block.
fn import_section(page: &mut String, command: &str) {
    let command = command.trim();
    let _ = write!(
        page,
        "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{command}\n```\n"
    );
    let mut words = command.split_whitespace().skip(2);
    if let (Some(address), Some(id)) = (words.next(), words.next()) {
        // The shell quotes an address with brackets; the block does not.
        let address = address.trim_matches('\'');
        let _ = write!(
            page,
            "\nIn Terraform 1.5.0 and later, use an `import` block instead:\n\n```terraform\n\
             import {{\n  to = {address}\n  id = \"{id}\"\n}}\n```\n"
        );
    }
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "Boolean".to_owned(),
        Type::Number => "Number".to_owned(),
        Type::String => "String".to_owned(),
        Type::Dynamic => "Dynamic".to_owned(),
        Type::List(inner) => format!("List of {}", type_name(inner)),
        Type::Set(inner) => format!("Set of {}", type_name(inner)),
        Type::Map(inner) => format!("Map of {}", type_name(inner)),
        Type::Object(_) => "Object".to_owned(),
        Type::Tuple(_) => "Tuple".to_owned(),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::framework::{Provider as _, ProviderServer};
    use crate::resources::QuayProvider;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// Every page: (file under docs/, rendered text).
    fn pages() -> Vec<(PathBuf, String)> {
        let schemas = ProviderServer::new(QuayProvider).get_schema();
        let mut pages = vec![(
            PathBuf::from("docs/index.md"),
            render_page(
                &Kind::Provider,
                "quay",
                &QuayProvider.schema(),
                &read(&repo().join("examples/provider/provider.tf")),
                None,
            ),
        )];
        for (name, schema) in &schemas.data_sources {
            let example =
                read(&repo().join(format!("examples/data-sources/{name}/data-source.tf")));
            pages.push((
                PathBuf::from(format!("docs/data-sources/{name}.md")),
                render_page(&Kind::DataSource, name, schema, &example, None),
            ));
        }
        for (name, schema) in &schemas.resources {
            let example = read(&repo().join(format!("examples/resources/{name}/resource.tf")));
            let import = std::fs::read_to_string(
                repo().join(format!("examples/resources/{name}/import.sh")),
            )
            .ok();
            let import = import.as_deref().and_then(|script| {
                script
                    .lines()
                    .find(|line| line.starts_with("terraform import "))
            });
            pages.push((
                PathBuf::from(format!("docs/resources/{name}.md")),
                render_page(&Kind::Resource, name, schema, &example, import),
            ));
        }
        for (name, schema) in &schemas.ephemeral_resources {
            let example = read(&repo().join(format!(
                "examples/ephemeral-resources/{name}/ephemeral-resource.tf"
            )));
            pages.push((
                PathBuf::from(format!("docs/ephemeral-resources/{name}.md")),
                render_page(&Kind::EphemeralResource, name, schema, &example, None),
            ));
        }
        pages.push((
            PathBuf::from("docs/guides/storage-drivers.md"),
            crate::resources::docs_storage_guide::render(&read(
                &repo().join("examples/storage-drivers/main.tf"),
            )),
        ));
        pages
    }

    #[test]
    fn docs_match_the_schemas() {
        let update = std::env::var_os("UPDATE_GOLDEN").is_some();
        let mut stale = Vec::new();
        for (relative, text) in pages() {
            let path = repo().join(&relative);
            if update {
                std::fs::create_dir_all(path.parent().expect("docs pages live in a folder"))
                    .unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(relative.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "these reference pages differ from the schemas: {stale:?}; regenerate them with \
             `UPDATE_GOLDEN=1 cargo test -p terraform-provider-quay docs` and review the diff"
        );
    }

    /// Every file under `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(files_under(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn docs_holds_only_registry_pages() {
        let generated: Vec<PathBuf> = pages().into_iter().map(|(path, _)| path).collect();
        for path in files_under(&repo().join("docs")) {
            let relative = path.strip_prefix(repo()).unwrap().to_owned();
            if relative.starts_with("docs/guides") {
                let text = read(&path);
                assert!(
                    text.starts_with("---\npage_title: ") && text.contains("\nsubcategory: "),
                    "{} is a guide without front matter (page_title, subcategory)",
                    relative.display()
                );
            } else {
                assert!(
                    generated.contains(&relative),
                    "{} is neither a generated reference page nor a guide: the registries \
                     publish every file under docs/, so move it elsewhere",
                    relative.display()
                );
            }
        }
    }

    #[test]
    fn pages_split_the_schema_into_required_optional_and_read_only() {
        let schema = crate::resources::georep_config_data_source::schema();
        let page = render_page(&Kind::DataSource, "quay_georep_config", &schema, "", None);
        assert!(
            page.starts_with(
                "---\npage_title: \"quay_georep_config Data Source - quay\"\nsubcategory: \
                 \"Configuration\"\ndescription: |-\n"
            ),
            "{page}"
        );
        let required = page.find("### Required\n").unwrap();
        let optional = page.find("### Optional\n").unwrap();
        let read_only = page.find("### Read-Only\n").unwrap();
        assert!(required < optional && optional < read_only, "{page}");
        let server_hostname = page.find("- `server_hostname` (String) ").unwrap();
        assert!(required < server_hostname && server_hostname < optional);
        assert!(page.contains("- `secret_key` (String, Sensitive) "));
        assert!(page[read_only..].contains("- `config_yaml` (String, Sensitive) "));
        assert!(page.contains("(Block Map, one per label)"));
        assert!(
            page.contains("<a id=\"nestedblock--storage\"></a>\n### Nested Schema for `storage`\n"),
            "{page}"
        );
        assert!(!page.contains("## Import"), "{page}");
    }

    #[test]
    fn an_importable_resource_shows_the_command_and_the_import_block() {
        let schema = crate::resources::georep_config_data_source::schema();
        let page = render_page(
            &Kind::Resource,
            "quay_georep_site",
            &schema,
            "",
            Some("terraform import quay_georep_site.us_east us_east/quay-enterprise/registry\n"),
        );
        assert!(page.contains(
            "## Import\n\nImport is supported using the following syntax:\n\n```shell\n\
             terraform import quay_georep_site.us_east us_east/quay-enterprise/registry\n```\n"
        ));
        assert!(page.contains(
            "import {\n  to = quay_georep_site.us_east\n  id = \"us_east/quay-enterprise/registry\"\n}"
        ));
    }

    #[test]
    fn an_ephemeral_resource_page_says_what_it_is_and_marks_write_only_arguments() {
        let schema = crate::resources::georep_site_resource::GeoRepSiteResource;
        let site = crate::framework::Resource::schema(&schema);
        let page = render_page(
            &Kind::EphemeralResource,
            "quay_georep_config",
            &site,
            "",
            None,
        );
        assert!(
            page.starts_with(
                "---\npage_title: \"quay_georep_config Ephemeral Resource - quay\"\nsubcategory: \
                 \"Configuration\"\n"
            ),
            "{page}"
        );
        assert!(
            page.contains("# quay_georep_config (Ephemeral Resource)"),
            "{page}"
        );
        assert!(
            page.contains("- `config_yaml_wo` (String, Sensitive, Write-only) "),
            "{page}"
        );
    }
}
