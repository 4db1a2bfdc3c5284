#!/usr/bin/env bash
# Installs terraform-provider-quay into a local provider mirror that `terraform init` (and
# `tofu init`) can install from, without development overrides, and prints the
# `provider_installation` block of the CLI config that uses it.
#
#   scripts/install-provider.sh                  # cargo build --release, then install it
#   scripts/install-provider.sh --debug          # cargo build (debug profile), then install it
#   scripts/install-provider.sh --binary PATH    # install an existing binary, build nothing
#
# Options:
#   --mirror DIR      the mirror directory (default: .cache/provider-mirror in the repository)
#   --source NS/TYPE  the provider's address without hostname (default: quay-georep/quay, the
#                     `source` the examples use); with --binary, mirrors another provider the
#                     same way (e.g. --source hashicorp/null --version 2.1.2)
#   --version X.Y.Z   the version to install as (default: the version in Cargo.toml)
#
# The layout is Terraform's "unpacked" filesystem mirror layout,
#   HOSTNAME/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION
# written once under registry.terraform.io (what Terraform resolves an unqualified `source`
# to) and once under registry.opentofu.org (what OpenTofu resolves it to). An installed
# version is replaced. The block printed on stdout names every provider in the mirror, so
# running the script for a second provider prints a block covering both; progress goes to
# stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mirror="${repo_root}/.cache/provider-mirror"
source_address="quay-georep/quay"
version=""
binary=""
profile="release"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --debug) profile="debug"; shift ;;
        --binary) [[ $# -ge 2 ]] || usage; binary="$2"; shift 2 ;;
        --mirror) [[ $# -ge 2 ]] || usage; mirror="$2"; shift 2 ;;
        --source) [[ $# -ge 2 ]] || usage; source_address="$2"; shift 2 ;;
        --version) [[ $# -ge 2 ]] || usage; version="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "install-provider: unknown argument: $1" >&2; usage ;;
    esac
done

if [[ ! "${source_address}" =~ ^[a-z0-9][a-z0-9_-]*/[a-z0-9][a-z0-9_-]*$ ]]; then
    echo "install-provider: --source must be NAMESPACE/TYPE, got '${source_address}'" >&2
    exit 2
fi
provider_type="${source_address#*/}"

if [[ -z "${version}" ]]; then
    if [[ "${source_address}" != "quay-georep/quay" ]]; then
        echo "install-provider: --version is needed with --source ${source_address}" >&2
        exit 2
    fi
    # The workspace's [workspace.package] version, which the provider crate inherits.
    version="$(awk '
        /^\[/ { section = $0 }
        section == "[workspace.package]" && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
    ' "${repo_root}/Cargo.toml")"
fi
if [[ ! "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    echo "install-provider: '${version}' is not a version (X.Y.Z)" >&2
    exit 2
fi

case "$(uname -s)" in
    Linux) os="linux" ;;
    Darwin) os="darwin" ;;
    FreeBSD) os="freebsd" ;;
    *) echo "install-provider: unsupported operating system $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
    x86_64|amd64) arch="amd64" ;;
    aarch64|arm64) arch="arm64" ;;
    *) echo "install-provider: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

if [[ -z "${binary}" ]]; then
    if [[ "${source_address}" != "quay-georep/quay" ]]; then
        echo "install-provider: --binary is needed with --source ${source_address}" >&2
        exit 2
    fi
    if [[ "${profile}" == "release" ]]; then
        (cd "${repo_root}" && cargo build --release --locked -p terraform-provider-quay >&2)
    else
        (cd "${repo_root}" && cargo build --locked -p terraform-provider-quay >&2)
    fi
    binary="${CARGO_TARGET_DIR:-${repo_root}/target}/${profile}/terraform-provider-quay"
fi
if [[ ! -f "${binary}" || ! -x "${binary}" ]]; then
    echo "install-provider: ${binary} is not an executable file" >&2
    exit 1
fi

mkdir -p "${mirror}"
mirror="$(cd "${mirror}" && pwd)"
for hostname in registry.terraform.io registry.opentofu.org; do
    dir="${mirror}/${hostname}/${source_address}/${version}/${os}_${arch}"
    rm -rf "${dir}"
    mkdir -p "${dir}"
    install -m 0755 "${binary}" "${dir}/terraform-provider-${provider_type}_v${version}"
    echo "install-provider: installed ${dir}/terraform-provider-${provider_type}_v${version}" >&2
done

# Every HOSTNAME/NAMESPACE/TYPE in the mirror, as HCL strings.
addresses=()
for dir in "${mirror}"/*/*/*/; do
    [[ -d "${dir}" ]] || continue
    address="${dir#"${mirror}"/}"
    addresses+=("\"${address%/}\"")
done
list="$(IFS=','; echo "${addresses[*]}" | sed 's/,/, /g')"

# The mirror's path as an HCL string: backslashes, quotes and template openings escaped.
hcl_mirror="$(printf '%s' "${mirror}" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\${/$${/g' -e 's/%{/%%{/g')"

cat <<EOF
provider_installation {
  filesystem_mirror {
    path    = "${hcl_mirror}"
    include = [${list}]
  }
  direct {
    exclude = [${list}]
  }
}
EOF
