#!/usr/bin/env bash
# Fetches the Quay Operator's published OLM bundle (its ClusterServiceVersion and the
# QuayRegistry CRD) for the kind backend into .cache/quay-operator/VERSION/manifests and
# prints that path. The bundle is the one OperatorHub installs: the folder
# operators/project-quay/VERSION/manifests of k8s-operatorhub/community-operators, at a
# pinned commit. `georep-harness up --backend kind` renders the operator's objects from it.
#
# Needs git and a network that reaches GitHub (the GitHub runners of
# .github/workflows/e2e-kind.yml do; our own build machines do not). Idempotent: an existing
# bundle with both files is kept.
set -euo pipefail

readonly VERSION="${1:-3.16.5}"
readonly REPO="https://github.com/k8s-operatorhub/community-operators.git"
# A commit of community-operators that holds operators/project-quay/3.16.5.
readonly COMMIT="23b953a217db6dc321e9f830dda29ff2218a439a"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${repo_root}/.cache/quay-operator/${VERSION}/manifests"

die() {
    echo "fetch-operator-bundle: $*" >&2
    exit 1
}

has_bundle() {
    compgen -G "$1/*.clusterserviceversion.yaml" >/dev/null && compgen -G "$1/*.crd.yaml" >/dev/null
}

if has_bundle "${dest}"; then
    echo "${dest}"
    exit 0
fi
command -v git >/dev/null 2>&1 || die "git is required"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
folder="operators/project-quay/${VERSION}/manifests"
git -C "${tmp}" init --quiet
git -C "${tmp}" remote add origin "${REPO}"
git -C "${tmp}" fetch --quiet --depth 1 --filter=blob:none origin "${COMMIT}"
git -C "${tmp}" sparse-checkout set --no-cone "/${folder}/"
git -C "${tmp}" checkout --quiet FETCH_HEAD
has_bundle "${tmp}/${folder}" \
    || die "${folder} at ${COMMIT} lacks a *.clusterserviceversion.yaml or *.crd.yaml"
mkdir -p "$(dirname "${dest}")"
rm -rf "${dest}"
cp -R "${tmp}/${folder}" "${dest}"
echo "${dest}"
