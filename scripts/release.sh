#!/usr/bin/env bash
# Packages terraform-provider-quay the way Terraform registries expect
# (https://developer.hashicorp.com/terraform/registry/providers/publishing):
#
#   release.sh package VERSION OS ARCH BINARY OUTDIR
#       OUTDIR/terraform-provider-quay_VERSION_OS_ARCH.zip holding one file,
#       terraform-provider-quay_vVERSION (.exe on windows), executable.
#   release.sh sums VERSION OUTDIR
#       OUTDIR/terraform-provider-quay_VERSION_manifest.json (protocol 5.0) and
#       OUTDIR/terraform-provider-quay_VERSION_SHA256SUMS over every zip and the manifest.
#
# Needs bash, python3 (zipfile keeps the exec bit on every OS, unlike some zip tools) and
# sha256sum or shasum. .github/workflows/release.yml runs it on every platform; the harness
# tests run it here on a linux amd64 build.
set -euo pipefail

readonly NAME="terraform-provider-quay"

die() {
    echo "release.sh: $*" >&2
    exit 1
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$@"
    else
        shasum -a 256 "$@"
    fi
}

check_version() {
    [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
        || die "version $1 is not semantic (1.2.3, without the tag's v)"
}

package() {
    [[ $# -eq 5 ]] || die "usage: release.sh package VERSION OS ARCH BINARY OUTDIR"
    local version="$1" os="$2" arch="$3" binary="$4" out="$5"
    check_version "${version}"
    case "${os}_${arch}" in
        linux_amd64 | linux_arm64 | darwin_amd64 | darwin_arm64 | windows_amd64) ;;
        *) die "unsupported platform ${os}_${arch}" ;;
    esac
    [[ -f "${binary}" ]] || die "no binary at ${binary}"
    local member="${NAME}_v${version}"
    [[ "${os}" == windows ]] && member="${member}.exe"
    mkdir -p "${out}"
    local zip="${out}/${NAME}_${version}_${os}_${arch}.zip"
    python3 - "${binary}" "${member}" "${zip}" <<'PY'
import sys, zipfile
binary, member, target = sys.argv[1:]
info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = (0o100755 << 16)
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(target, "w") as z:
    z.writestr(info, f.read())
PY
    echo "${zip}"
}

sums() {
    [[ $# -eq 2 ]] || die "usage: release.sh sums VERSION OUTDIR"
    local version="$1" out="$2"
    check_version "${version}"
    shopt -s nullglob
    local zips=("${out}/${NAME}_${version}_"*.zip)
    shopt -u nullglob
    [[ ${#zips[@]} -gt 0 ]] || die "no ${NAME}_${version}_*.zip in ${out}"
    local manifest="${NAME}_${version}_manifest.json"
    printf '{\n  "version": 1,\n  "metadata": {\n    "protocol_versions": ["5.0"]\n  }\n}\n' \
        >"${out}/${manifest}"
    local sums_file="${NAME}_${version}_SHA256SUMS"
    (
        cd "${out}"
        sha256 "${NAME}_${version}_"*.zip "${manifest}" | sort -k2 >"${sums_file}"
    )
    echo "${out}/${sums_file}"
}

case "${1:-}" in
    package) shift; package "$@" ;;
    sums) shift; sums "$@" ;;
    *) die "usage: release.sh package|sums ..." ;;
esac
