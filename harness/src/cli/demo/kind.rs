//! `georep-harness demo --backend kind`: the kind backend with `examples/three-sites`
//! applied to it by Terraform and our provider.
//!
//! It reads no site status and runs no global load balancer (the local demo's report needs
//! both); the conformance suite is the place for those checks on kind.

use crate::backend::kind::{self, process::Runner};
use crate::cli::kind::{Error, options, usage};
use crate::terraform;

/// How long one Terraform command of the kind demo may run: real Quay pods pull images.
const DEMO_TERRAFORM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45 * 60);

/// `demo --backend kind`: brings the kind backend up, applies `examples/three-sites` to it
/// with Terraform and our provider and prints the outcome; unless `--keep`, destroys and
/// removes everything. Returns whether the apply succeeded. With `--dry-run`, prints the plan only.
///
/// # Errors
/// Any [`Error`]: the backend, Terraform or the example could not be used.
pub async fn run(args: &super::DemoArgs) -> Result<bool, Error> {
    use crate::terraform::{DevOverride, TerraformBinary, Workdir};
    let sites: Vec<String> = crate::local::DEFAULT_SITES.map(String::from).to_vec();
    let opts = options(&args.backend, &sites, args.state_dir.as_deref())?;
    if args.backend.dry_run {
        print!("{}", kind::dry_run(&opts)?);
        return Ok(true);
    }
    let repo = terraform::repo_root().map_err(Error::Repo)?;
    let terraform_path =
        terraform::find_terraform(args.terraform.as_deref(), &repo).map_err(Error::Repo)?;
    let binary = TerraformBinary::probe(&terraform_path).map_err(Error::Terraform)?;
    let exe = std::env::current_exe().ok();
    let provider_dir =
        terraform::find_provider_dir(args.provider_dir.as_deref(), exe.as_deref(), &repo)
            .map_err(Error::Repo)?;

    let up_opts = opts.clone();
    tokio::task::spawn_blocking(move || kind::up(&up_opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)??;

    let dir = opts.state_dir.join("terraform");
    let workdir = Workdir::at(&binary, &dir, &[DevOverride::quay(&provider_dir)])
        .map_err(Error::Terraform)?
        .with_timeout(DEMO_TERRAFORM_TIMEOUT);
    for file in ["main.tf", "variables.tf", "outputs.tf"] {
        let path = repo.join(super::EXAMPLE).join(file);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Example {
            path: path.clone(),
            source,
        })?;
        workdir.write_file(file, &text).map_err(Error::Terraform)?;
    }
    let tfvars_path = opts.state_dir.join(crate::services::TFVARS);
    let tfvars = std::fs::read_to_string(&tfvars_path).map_err(|source| Error::Example {
        path: tfvars_path,
        source,
    })?;
    workdir
        .write_file(crate::services::TFVARS, &tfvars)
        .map_err(Error::Terraform)?;
    let workdir = std::sync::Arc::new(workdir);

    println!("terraform apply of {} on the kind clusters", super::EXAMPLE);
    let wd = std::sync::Arc::clone(&workdir);
    let applied = tokio::task::spawn_blocking(move || wd.apply())
        .await
        .map_err(Error::Task)?
        .map_err(Error::Terraform)?;
    println!(
        "terraform apply: {}",
        if applied.succeeded() { "ok" } else { "FAILED" }
    );
    for d in applied.events.errors() {
        println!("  error: {}", d.summary);
    }
    if args.keep {
        print!("{}", usage(&opts.state_dir, &sites));
        return Ok(applied.succeeded());
    }
    let wd = std::sync::Arc::clone(&workdir);
    let destroyed = tokio::task::spawn_blocking(move || wd.destroy())
        .await
        .map_err(Error::Task)?
        .map_err(Error::Terraform)?;
    if !destroyed.succeeded() {
        println!("terraform destroy: FAILED");
    }
    tokio::task::spawn_blocking(move || kind::down(&opts, &Runner::from_env()))
        .await
        .map_err(Error::Task)??;
    Ok(applied.succeeded())
}
