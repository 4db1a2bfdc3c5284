#!/usr/bin/env bash
# Builds, on this machine and without any image registry, the container images the tests of
# the kind backend's containers run (harness/tests/it/containers.rs):
#   quay-georep-test/base:bookworm   Debian bookworm (debootstrap, minbase) with PostgreSQL 15,
#                                    Redis and HAProxy from Debian's packages; the S3 container
#                                    runs the harness's own S3 server on it (binary mounted)
#   quay-georep-test/postgres:15     + images/postgres/entrypoint.sh (the official image's
#                                    POSTGRES_USER/PASSWORD/DB interface)
#   quay-georep-test/redis:7         runs `redis-server` with the arguments given
#   quay-georep-test/haproxy:2.6     runs HAProxy on /usr/local/etc/haproxy/haproxy.cfg, the
#                                    official image's path
# The GitHub workflow uses the published images instead; the names are settings there.
#
# Cached by tag: each image carries the label io.quay-georep.recipe, a hash of this script and
# of images/; when every image has the current one, nothing is built (a second run takes
# under a second). Needs a Docker engine that answers, and debootstrap (installed with apt-get
# when missing, as root or via sudo). Quiet on success; prints what failed otherwise.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"

readonly PREFIX="quay-georep-test"
readonly SUITE="bookworm"
readonly MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
readonly PACKAGES="postgresql-15,redis-server,haproxy,ca-certificates"
readonly LABEL="io.quay-georep.recipe"

die() {
    echo "build-test-images: $*" >&2
    exit 1
}

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed): start it, or skip the container tests"

recipe="$(cat "${BASH_SOURCE[0]}" images/*/* | sha256sum | cut -c1-16)"
images=("base:${SUITE}" "postgres:15" "redis:7" "haproxy:2.6")

current() {
    [[ "$(docker image inspect --format "{{ index .Config.Labels \"${LABEL}\" }}" "${PREFIX}/$1" 2>/dev/null)" == "${recipe}" ]]
}

all_current=1
for image in "${images[@]}"; do
    current "${image}" || all_current=0
done
if [[ ${all_current} -eq 1 ]]; then
    exit 0
fi

# debootstrap, and removing the root-owned tree it makes, need root.
sudo_cmd=()
[[ "$(id -u)" -eq 0 ]] || sudo_cmd=(sudo)

log="$(mktemp)"
work="$(mktemp -d "${TMPDIR:-/tmp}/georep-images-XXXXXX")"
container=""
cleanup() {
    [[ -n "${container}" ]] && docker rm --force "${container}" >/dev/null 2>&1
    "${sudo_cmd[@]}" rm -rf "${work}"
    rm -f "${log}"
}
trap cleanup EXIT

quietly() {
    if ! "$@" >>"${log}" 2>&1; then
        tail -n 40 "${log}" >&2
        die "failed: $* (the last lines of its output are above)"
    fi
}

if ! command -v debootstrap >/dev/null 2>&1; then
    quietly "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    quietly "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
fi

if ! current "base:${SUITE}"; then
    echo "build-test-images: debootstrap ${SUITE} with ${PACKAGES} (about two minutes)"
    quietly "${sudo_cmd[@]}" debootstrap --variant=minbase --include="${PACKAGES}" "${SUITE}" "${work}/rootfs" "${MIRROR}"
    # What an image does not need: downloaded packages, documentation, translations.
    "${sudo_cmd[@]}" rm -rf "${work}/rootfs/var/cache/apt/archives/"*.deb \
        "${work}/rootfs/usr/share/doc/"* "${work}/rootfs/usr/share/man/"* \
        "${work}/rootfs/usr/share/locale/"*
    "${sudo_cmd[@]}" tar -C "${work}/rootfs" -c . \
        | quietly docker import --change "LABEL ${LABEL}=${recipe}" --change 'CMD ["/bin/sh"]' \
            - "${PREFIX}/base:${SUITE}"
    "${sudo_cmd[@]}" rm -rf "${work}/rootfs"
fi

# A role image: the base plus files, with its own command, made by commit (no builder needed,
# and it shares the base's layer).
role() {
    local tag="$1"
    shift
    local files=() changes=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do
        files+=("$1")
        shift
    done
    shift
    changes=("$@")
    container="$(docker create "${PREFIX}/base:${SUITE}")"
    for file in "${files[@]}"; do
        quietly docker cp "${file}" "${container}:/usr/local/bin/"
    done
    local args=(--change "LABEL ${LABEL}=${recipe}")
    for change in "${changes[@]}"; do
        args+=(--change "${change}")
    done
    quietly docker commit "${args[@]}" "${container}" "${PREFIX}/${tag}"
    docker rm --force "${container}" >/dev/null
    container=""
}

role "postgres:15" images/postgres/entrypoint.sh -- \
    'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' 'CMD []' 'EXPOSE 5432'
role "redis:7" -- 'CMD ["redis-server"]' 'EXPOSE 6379'
role "haproxy:2.6" -- \
    'CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'

for image in "${images[@]}"; do
    current "${image}" || die "${PREFIX}/${image} is missing after the build"
done
echo "build-test-images: built ${images[*]/#/${PREFIX}/}"
