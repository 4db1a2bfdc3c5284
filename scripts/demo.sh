#!/usr/bin/env bash
# The README's first command: installs what the demo needs, builds it, and runs
# `georep-harness demo` (arguments are passed on, e.g. --keep or --state-dir DIR).
#
# Installs Terraform 1.0.3 into .cache/ (scripts/install-terraform.sh) and PostgreSQL 15 and
# Redis when missing (scripts/install-services.sh), then builds the provider and the harness
# (debug). Respects CARGO_TARGET_DIR.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

bash scripts/install-terraform.sh >/dev/null
bash scripts/install-services.sh
cargo build -p terraform-provider-quay -p georep-harness
exec "${CARGO_TARGET_DIR:-target}/debug/georep-harness" demo "$@"
