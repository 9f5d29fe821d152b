#!/usr/bin/env bash
# package.sh: writes the deployable Lambda zip (provided.al2023) from a self-contained bootstrap
# (one linked with -DSM_STATIC_DEPS=ON: OpenSSL, libcurl, libpq, MariaDB Connector/C, expat and
# cJSON linked in statically).
#
# Layout of the zip:
#   bootstrap                      the ELF itself (mode 0755, no shell wrapper), stripped
#   certs/rds-global-bundle.pem    the Amazon RDS CA bundle, when --rds-ca-bundle is given
#   LICENSE, THIRD_PARTY_NOTICES.md  --notice FILE (repeatable), at the root
#   licenses/<name>/<file>         --licenses DIR: the licence texts and notices of what is linked
#                                  in, per Debian source package (cmake/deps.sh copies them to
#                                  <deps prefix>/share/licenses)
#   smrotate.cdx.json              --sbom FILE: the CycloneDX SBOM (cmake/sbom.cmake)
#
# Refuses (exit 1, message on stderr) a bootstrap that is not an ELF executable, that is built for
# another machine than --arch (x86_64 or arm64), that needs a shared library other than glibc's
# and libgcc's (NEEDED), a symbol version newer than --max-glibc (GLIBC_2.34, Amazon Linux 2023)
# or of any other library, or that carries an RPATH/RUNPATH (nothing is loaded from the package).
# There is no lib/ folder.
#
# usage: package.sh --bootstrap FILE --output ZIP [--arch x86_64|arm64] [--rds-ca-bundle FILE]
#                   [--notice FILE]... [--licenses DIR] [--sbom FILE] [--max-glibc 2.34]
#                   [--strip TOOL | --no-strip] [--keep-stage DIR]
#
# Needs: bash, readelf, strip (binutils; the cross binutils' strip for arm64: --strip), zip, sort,
# find, touch.
set -euo pipefail

die() {
    echo "package.sh: error: $*" >&2
    exit 1
}
warn() { echo "package.sh: warning: $*" >&2; }
note() { echo "package.sh: $*"; }

# The shared objects of glibc 2.34 and libgcc: everything bootstrap may need at run time.
SYSTEM_LIBS=(
    'ld-linux-x86-64.so.2' 'ld-linux-aarch64.so.1'
    'libc.so.6' 'libm.so.6' 'libmvec.so.1' 'libpthread.so.0' 'libdl.so.2' 'librt.so.1'
    'libresolv.so.2' 'libutil.so.1' 'libanl.so.1'
    'libgcc_s.so.1'
)

bootstrap=""
output=""
ca_bundle=""
licenses=""
sbom=""
arch=""
strip_tool="strip"
notices=()
max_glibc="2.34"
strip_symbols=1
keep_stage=""
while [ $# -gt 0 ]; do
    case "$1" in
    --bootstrap) bootstrap="${2:?}"; shift 2 ;;
    --output) output="${2:?}"; shift 2 ;;
    --rds-ca-bundle) ca_bundle="${2:?}"; shift 2 ;;
    --notice) notices+=("${2:?}"); shift 2 ;;
    --licenses) licenses="${2:?}"; shift 2 ;;
    --sbom) sbom="${2:?}"; shift 2 ;;
    --arch) arch="${2:?}"; shift 2 ;;
    --strip) strip_tool="${2:?}"; shift 2 ;;
    --max-glibc) max_glibc="${2:?}"; shift 2 ;;
    --no-strip) strip_symbols=0; shift ;;
    --keep-stage) keep_stage="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -n "$bootstrap" ] || die "--bootstrap FILE is required"
[ -n "$output" ] || die "--output ZIP is required"
[ -f "$bootstrap" ] || die "$bootstrap: no such file"
for tool in readelf zip find sort touch; do
    command -v "$tool" >/dev/null || die "$tool is needed (binutils, zip)"
done
[ "$strip_symbols" = 0 ] || command -v "$strip_tool" >/dev/null ||
    die "$strip_tool is needed (binutils) or pass --no-strip"

export LC_ALL=C TZ=UTC

is_system() {
    local soname="$1" b
    for b in "${SYSTEM_LIBS[@]}"; do
        [ "$soname" = "$b" ] && return 0
    done
    return 1
}

newer_than() { # a b: a > b as versions
    [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]
}

# --- bootstrap ---------------------------------------------------------------------------
magic="$(head -c 4 "$bootstrap" | od -An -c | tr -d ' ')"
[ "$magic" = '177ELF' ] || die "$bootstrap is not an ELF file (a script? bootstrap must be the binary)"
elf_type="$(readelf -h "$bootstrap" | awk -F: '/Type:/ {print $2}')"
case "$elf_type" in
*EXEC* | *DYN*) ;;
*) die "$bootstrap is not an executable ($elf_type)" ;;
esac
machine="$(readelf -h "$bootstrap" | awk -F: '/Machine:/ {gsub(/^ +/, "", $2); print $2}')"
case "$arch" in
"") ;;
x86_64) [ "$machine" = "Advanced Micro Devices X86-64" ] || die "$bootstrap is built for $machine, not x86_64" ;;
arm64) [ "$machine" = "AArch64" ] || die "$bootstrap is built for $machine, not arm64" ;;
*) die "--arch $arch: x86_64 or arm64" ;;
esac
dynamic="$(readelf -d "$bootstrap")"

foreign=()
while IFS= read -r soname; do
    [ -n "$soname" ] || continue
    is_system "$soname" || foreign+=("$soname")
done < <(echo "$dynamic" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ ${#foreign[@]} -eq 0 ] ||
    die "$bootstrap needs ${foreign[*]}: only glibc and libgcc may be shared (link with -DSM_STATIC_DEPS=ON)"
rpath="$(echo "$dynamic" | sed -n 's/.*(\(RPATH\|RUNPATH\)).*\[\(.*\)\]/\1 \2/p')"
[ -z "$rpath" ] || die "$bootstrap has $rpath: a self-contained bootstrap loads nothing from the package"

newest=""
while IFS= read -r v; do
    case "$v" in
    GLIBC_PRIVATE) die "$bootstrap uses GLIBC_PRIVATE symbols" ;;
    GLIBC_[0-9]*)
        v="${v#GLIBC_}"
        newer_than "$v" "$max_glibc" && die "$bootstrap needs GLIBC_$v, newer than GLIBC_$max_glibc (Amazon Linux 2023)"
        if [ -z "$newest" ] || newer_than "$v" "$newest"; then newest="$v"; fi
        ;;
    GCC_[0-9]*) ;;
    *) die "$bootstrap needs symbol version $v, neither glibc's nor libgcc's" ;;
    esac
done < <(readelf -V "$bootstrap" | sed -n 's/.*Name: \([A-Za-z_][A-Za-z0-9_.]*\).*Flags.*/\1/p' | sort -u)

stage="$(mktemp -d "${TMPDIR:-/tmp}/smrotate-package.XXXXXX")"
cleanup() { [ -n "$keep_stage" ] || rm -rf "$stage"; }
trap cleanup EXIT

cp "$bootstrap" "$stage/bootstrap"
if [ "$strip_symbols" = 1 ]; then
    "$strip_tool" --strip-all "$stage/bootstrap"
fi
chmod 0755 "$stage/bootstrap"

# --- CA bundle for database TLS -----------------------------------------------------------
if [ -n "$ca_bundle" ]; then
    [ -f "$ca_bundle" ] || die "$ca_bundle: no such file"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_bundle" || die "$ca_bundle holds no PEM certificate"
    mkdir -p "$stage/certs"
    cp "$ca_bundle" "$stage/certs/rds-global-bundle.pem"
else
    warn "no --rds-ca-bundle: certs/rds-global-bundle.pem omitted; database TLS will verify against the system CA bundle unless SMROTATE_DB_CA_FILE is set (download https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)"
fi

# --- licences -----------------------------------------------------------------------------
for f in "${notices[@]}"; do
    [ -f "$f" ] || die "--notice $f: no such file"
    cp "$f" "$stage/$(basename "$f")"
done
if [ -n "$licenses" ]; then
    [ -d "$licenses" ] || die "--licenses $licenses: no such directory"
    mkdir -p "$stage/licenses"
    cp -R "$licenses/." "$stage/licenses/"
    [ -n "$(find "$stage/licenses" -type f | head -n 1)" ] || die "--licenses $licenses holds no file"
fi

if [ -n "$sbom" ]; then
    [ -f "$sbom" ] || die "--sbom $sbom: no such file"
    grep -q '"bomFormat" *: *"CycloneDX"' "$sbom" || die "--sbom $sbom is not a CycloneDX JSON SBOM"
    cp "$sbom" "$stage/smrotate.cdx.json"
fi

# --- zip (sorted entries, fixed timestamps and modes, no extra attributes) ----------------
find "$stage" -type f ! -name bootstrap -exec chmod 0644 {} +
find "$stage" -exec touch -h -d '1980-01-02 00:00:00' {} +
mkdir -p "$(dirname "$output")"
output_abs="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
rm -f "$output_abs"
(cd "$stage" && find . -mindepth 1 ! -type d | sed 's|^\./||' | sort | zip -q -9 -X -D "$output_abs" -@)

size="$(wc -c <"$output_abs" | tr -d ' ')"
note "wrote $output ($size bytes, $(( (size + 1023) / 1024 )) KiB) for $machine; newest glibc symbol: GLIBC_${newest:-none}"
if [ -n "$keep_stage" ]; then
    rm -rf "$keep_stage"
    mkdir -p "$(dirname "$keep_stage")"
    mv "$stage" "$keep_stage"
    note "staging tree kept in $keep_stage"
fi
exit 0
