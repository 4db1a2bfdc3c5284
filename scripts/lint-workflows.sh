#!/usr/bin/env bash
# Lints every GitHub workflow in .github/workflows with check-jsonschema and its built-in
# GitHub workflow schema (vendor.github-workflows), so a broken workflow fails here and not
# first on GitHub. check-jsonschema comes from PyPI into the repository's ignored cache,
# .cache/check-jsonschema/VERSION, a virtualenv made on first use (like install-terraform.sh).
#
# The schema is vendored inside check-jsonschema, so linting reads nothing from the network.
# Prints check-jsonschema's verdict; exits non-zero when a workflow is invalid.
set -euo pipefail

readonly VERSION="0.39.0"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${repo_root}/.cache/check-jsonschema/${VERSION}"
tool="${venv}/bin/check-jsonschema"

die() {
    echo "lint-workflows: $*" >&2
    exit 1
}

if [[ ! -x "${tool}" ]]; then
    command -v python3 >/dev/null 2>&1 \
        || die "python3 is required to install check-jsonschema ${VERSION} from PyPI (Debian: apt-get install python3 python3-venv)"
    rm -rf "${venv}.partial"
    python3 -m venv "${venv}.partial" \
        || die "python3 cannot make a virtualenv (Debian: apt-get install python3-venv)"
    if ! "${venv}.partial/bin/python" -m pip install --quiet --disable-pip-version-check \
        "check-jsonschema==${VERSION}" >"${venv}.partial.log" 2>&1; then
        cat "${venv}.partial.log" >&2
        die "pip could not install check-jsonschema==${VERSION} (output above)"
    fi
    rm -f "${venv}.partial.log"
    # Scripts in a virtualenv name its path, so it is made under its final name's sibling
    # and only renamed when complete; python3 -m venv paths survive the rename through
    # bin/python's symlink, and the console script is called through that interpreter below.
    rm -rf "${venv}"
    mv "${venv}.partial" "${venv}"
fi

shopt -s nullglob
workflows=("${repo_root}"/.github/workflows/*.yml "${repo_root}"/.github/workflows/*.yaml)
shopt -u nullglob
[[ ${#workflows[@]} -gt 0 ]] || die "no workflow in ${repo_root}/.github/workflows"
"${venv}/bin/python" -m check_jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
