//! The reference pages under `docs/`, generated from the schemas so they cannot drift from the
//! code: a test renders every page and compares it with the file (`UPDATE_GOLDEN=1` rewrites
//! them). Examples come from `examples/`, which the end-to-end tests validate with Terraform.

use std::fmt::Write as _;

use crate::tfvalue::{Attribute, NestedBlock, Nesting, Presence, Schema, Type};

/// What a page documents.
pub(crate) enum Kind {
    Provider,
    DataSource,
    Resource,
}

/// Renders one reference page.
pub(crate) fn render_page(kind: &Kind, name: &str, schema: &Schema, example: &str) -> String {
    let title = match kind {
        Kind::Provider => format!("# Provider: {name}"),
        Kind::DataSource => format!("# Data Source: {name}"),
        Kind::Resource => format!("# Resource: {name}"),
    };
    let mut page = format!(
        "<!-- Generated from the provider's schema by `cargo test -p terraform-provider-quay \
         docs` with UPDATE_GOLDEN=1; do not edit. -->\n\n{title}\n\n{}.\n\n## Example\n\n```hcl\n{}\n```\n",
        capitalise(&schema.block.description),
        example.trim_end()
    );
    let (arguments, results): (Vec<&Attribute>, Vec<&Attribute>) = schema
        .block
        .attributes
        .iter()
        .partition(|a| a.presence != Presence::Computed);
    page.push_str("\n## Arguments\n\n");
    list_attributes(&mut page, &arguments);
    for nested in &schema.block.block_types {
        block_section(&mut page, "###", nested);
    }
    if !results.is_empty() {
        page.push_str("\n## Results\n\n");
        list_attributes(&mut page, &results);
    }
    page
}

fn block_section(page: &mut String, level: &str, nested: &NestedBlock) {
    let (name, block) = (&nested.type_name, &nested.block);
    let how = match nested.nesting {
        Nesting::Single | Nesting::Group if nested.min_items > 0 => "block, required",
        Nesting::Single | Nesting::Group => "block, optional",
        Nesting::List | Nesting::Set if nested.max_items == 1 => "block, optional, at most one",
        Nesting::List | Nesting::Set => "blocks, any number",
        Nesting::Map => "blocks, one per label",
    };
    let _ = write!(
        page,
        "\n{level} `{name}` ({how})\n\n{}.\n\n",
        capitalise(&block.description)
    );
    let attributes: Vec<&Attribute> = block.attributes.iter().collect();
    list_attributes(page, &attributes);
    for nested in &block.block_types {
        block_section(page, &format!("{level}#"), nested);
    }
}

fn list_attributes(page: &mut String, attributes: &[&Attribute]) {
    for attribute in attributes {
        let mut flags = vec![type_name(&attribute.ty)];
        flags.push(match attribute.presence {
            Presence::Required => "required".to_owned(),
            Presence::Optional => "optional".to_owned(),
            Presence::OptionalComputed => "optional, computed".to_owned(),
            Presence::Computed => "computed".to_owned(),
        });
        if attribute.sensitive {
            flags.push("sensitive".to_owned());
        }
        if attribute.deprecated {
            flags.push("deprecated".to_owned());
        }
        let _ = writeln!(
            page,
            "- `{}` ({}): {}.",
            attribute.name,
            flags.join(", "),
            attribute.description
        );
    }
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".to_owned(),
        Type::Number => "number".to_owned(),
        Type::String => "string".to_owned(),
        Type::Dynamic => "any value".to_owned(),
        Type::List(inner) => format!("list of {}", type_name(inner)),
        Type::Set(inner) => format!("set of {}", type_name(inner)),
        Type::Map(inner) => format!("map of {}", type_name(inner)),
        Type::Object(_) => "object".to_owned(),
        Type::Tuple(_) => "tuple".to_owned(),
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
            ),
        )];
        for (name, schema) in &schemas.data_sources {
            let example =
                read(&repo().join(format!("examples/data-sources/{name}/data-source.tf")));
            pages.push((
                PathBuf::from(format!("docs/data-sources/{name}.md")),
                render_page(&Kind::DataSource, name, schema, &example),
            ));
        }
        for (name, schema) in &schemas.resources {
            let example = read(&repo().join(format!("examples/resources/{name}/resource.tf")));
            pages.push((
                PathBuf::from(format!("docs/resources/{name}.md")),
                render_page(&Kind::Resource, name, schema, &example),
            ));
        }
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

    #[test]
    fn pages_list_every_argument_with_its_flags() {
        let schema = crate::resources::georep_config_data_source::schema();
        let page = render_page(&Kind::DataSource, "quay_georep_config", &schema, "");
        assert!(page.contains("- `server_hostname` (string, required): "));
        assert!(page.contains("- `secret_key` (string, required, sensitive): "));
        assert!(page.contains("### `storage` (blocks, one per label)"));
        assert!(page.contains("## Results\n\n- `config_yaml` (string, computed, sensitive)"));
    }
}
