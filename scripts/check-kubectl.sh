#!/usr/bin/env bash
# Checks for kubectl, which the harness's kubectl tests run against the simulated API server
# (harness/tests/it/kubectl.rs, with the same rule as harness/src/kubectl.rs, which the
# provider's manifests parity test also uses): the independent client that checks the simulator.
#
# They need kubectl 1.29 or newer (`KUBECTL`, else `kubectl` on PATH): older releases fetch
# /openapi/v2 for `apply` and `explain`, and the simulator serves only /openapi/v3. Nothing
# our package registries offer is new enough (Debian's `kubernetes-client` is kubectl 1.20),
# so this script installs nothing: it says what to install and fails when kubectl is missing
# or too old.
set -euo pipefail

readonly MIN_MINOR=29

die() {
    echo "check-kubectl: $*" >&2
    echo "check-kubectl: install kubectl 1.${MIN_MINOR} or newer (https://kubernetes.io/docs/tasks/tools/), put it on PATH or set KUBECTL to it; Debian's kubernetes-client (kubectl 1.20) is too old" >&2
    exit 1
}

kubectl="${KUBECTL:-$(command -v kubectl || true)}"
[[ -n "${kubectl}" ]] || die "kubectl is not on PATH and KUBECTL is not set"
[[ -x "${kubectl}" ]] || die "${kubectl} is not an executable"

version="$("${kubectl}" version --client -o json 2>/dev/null \
    | python3 -c 'import json, sys; v = json.load(sys.stdin)["clientVersion"]; print(v["major"], v["minor"].rstrip("+"))' \
    || true)"
read -r major minor <<<"${version:-0 0}"
if [[ "${major}" -lt 1 || ( "${major}" -eq 1 && "${minor}" -lt ${MIN_MINOR} ) ]]; then
    die "${kubectl} is kubectl ${major}.${minor}"
fi
echo "kubectl ${major}.${minor}: ${kubectl}"
