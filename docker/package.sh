#!/usr/bin/env bash
# package.sh: writes the deployable Lambda zip (provided.al2023) from a built bootstrap.
#
# Layout of the zip:
#   bootstrap                      the ELF itself (mode 0755, no shell wrapper); DT_RPATH $ORIGIN/lib
#   lib/<soname>                   every shared library bootstrap needs that Amazon Linux 2023 does
#                                  not ship (libpq and its dependencies, libmariadb, libcjson, ...),
#                                  found recursively; copied as regular files named by soname
#   lib/mariadb/plugin/*.so        MariaDB Connector/C authentication plugins (dlopen'ed, so ldd
#                                  cannot see them): caching_sha2_password, client_ed25519,
#                                  sha256_password, mysql_clear_password, dialog
#   certs/rds-global-bundle.pem    the Amazon RDS CA bundle, when --rds-ca-bundle is given
#
# Base libraries (present in provided.al2023, never bundled) are an explicit allowlist below;
# everything else ldd resolves is bundled, with its own dependencies. Reasoning
# (shared/reference/lambda-runtime.md 1.13): the image is AL2023-minimal plus curl-minimal, so it
# has glibc 2.34, libgcc, OpenSSL 3 (openssl-libs), zlib, libcurl-minimal and its libnghttp2.
# Kerberos, LDAP, SASL, GnuTLS and friends are NOT assumed: libpq's dependencies are bundled.
#
# usage: package.sh --bootstrap FILE --output ZIP [--rds-ca-bundle FILE]
#                   [--mariadb-plugin-dir DIR] [--base-lib SONAME]... [--max-glibc 2.34]
#                   [--no-strip] [--keep-stage DIR]
#
# Exit status: 0 with the zip written; 1 with a message on stderr otherwise (missing library or
# plugin, symbol newer than --max-glibc, bootstrap not an ELF executable, ...).
# Needs: bash, ldd, readelf, objdump, strip (binutils), zip, sort, find, touch.
set -euo pipefail

die() {
    echo "package.sh: error: $*" >&2
    exit 1
}
warn() { echo "package.sh: warning: $*" >&2; }
note() { echo "package.sh: $*"; }

BASE_LIBS=(
    # glibc 2.34 (AL2023 glibc / glibc-minimal-langpack)
    'ld-linux-x86-64.so.2' 'ld-linux-aarch64.so.1' 'linux-vdso.so.1' 'linux-gate.so.1'
    'libc.so.6' 'libm.so.6' 'libmvec.so.1' 'libpthread.so.0' 'libdl.so.2' 'librt.so.1'
    'libresolv.so.2' 'libutil.so.1' 'libanl.so.1' 'libBrokenLocale.so.1' 'libthread_db.so.1'
    'libc_malloc_debug.so.0' 'libnss_files.so.2' 'libnss_dns.so.2'
    # libgcc
    'libgcc_s.so.1'
    # openssl-libs 3.x
    'libssl.so.3' 'libcrypto.so.3'
    # zlib
    'libz.so.1'
    # libcurl-minimal (curl-minimal) and its HTTP/2 library
    'libcurl.so.4' 'libnghttp2.so.14'
)
MARIADB_PLUGINS=(caching_sha2_password.so client_ed25519.so sha256_password.so
    mysql_clear_password.so dialog.so)

bootstrap=""
output=""
ca_bundle=""
plugin_dir=""
max_glibc="2.34"
strip_debug=1
keep_stage=""
while [ $# -gt 0 ]; do
    case "$1" in
    --bootstrap) bootstrap="${2:?}"; shift 2 ;;
    --output) output="${2:?}"; shift 2 ;;
    --rds-ca-bundle) ca_bundle="${2:?}"; shift 2 ;;
    --mariadb-plugin-dir) plugin_dir="${2:?}"; shift 2 ;;
    --base-lib) BASE_LIBS+=("${2:?}"); shift 2 ;;
    --max-glibc) max_glibc="${2:?}"; shift 2 ;;
    --no-strip) strip_debug=0; shift ;;
    --keep-stage) keep_stage="${2:?}"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -n "$bootstrap" ] || die "--bootstrap FILE is required"
[ -n "$output" ] || die "--output ZIP is required"
[ -f "$bootstrap" ] || die "$bootstrap: no such file"
for tool in ldd readelf objdump zip find sort touch; do
    command -v "$tool" >/dev/null || die "$tool is needed (binutils, zip)"
done
[ "$strip_debug" = 0 ] || command -v strip >/dev/null || die "strip is needed (binutils) or pass --no-strip"

export LC_ALL=C TZ=UTC

is_base() {
    local soname="$1" b
    for b in "${BASE_LIBS[@]}"; do
        [ "$soname" = "$b" ] && return 0
    done
    return 1
}

needed_of() { # NEEDED entries of an ELF file, one per line
    readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# soname -> resolved path, from `ldd FILE` (ldd lists the whole transitive closure).
declare -A where=()
resolve_with_ldd() {
    local file="$1" line name path
    local out
    out="$(env -u LD_LIBRARY_PATH ldd "$file" 2>&1)" || die "ldd $file failed: $out"
    while IFS= read -r line; do
        case "$line" in
        *"=> not found"*)
            name="$(echo "$line" | awk '{print $1}')"
            is_base "$name" || die "$file needs $name, which is not installed here"
            ;;
        *"=> /"*)
            name="$(echo "$line" | awk '{print $1}')"
            path="$(echo "$line" | awk '{print $3}')"
            [ -n "${where[$name]:-}" ] || where[$name]="$path"
            ;;
        esac
    done <<<"$out"
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
rpath="$(readelf -d "$bootstrap" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')"
runpath="$(readelf -d "$bootstrap" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')"
case ":$rpath:" in
*':$ORIGIN/lib:'*) ;;
*)
    case ":$runpath:" in
    *':$ORIGIN/lib:'*) warn "bootstrap has RUNPATH, not RPATH: /lib64 copies of bundled libraries would win (link with -Wl,--disable-new-dtags)" ;;
    *) die "bootstrap has no RPATH \$ORIGIN/lib (rpath='$rpath' runpath='$runpath')" ;;
    esac
    ;;
esac

stage="$(mktemp -d "${TMPDIR:-/tmp}/smrotate-package.XXXXXX")"
cleanup() { [ -n "$keep_stage" ] || rm -rf "$stage"; }
trap cleanup EXIT
mkdir -p "$stage/lib"

cp "$bootstrap" "$stage/bootstrap"
if [ "$strip_debug" = 1 ]; then
    strip --strip-debug "$stage/bootstrap"
fi
chmod 0755 "$stage/bootstrap"

# --- shared libraries, recursively --------------------------------------------------------
resolve_with_ldd "$bootstrap"
declare -A bundled=()
queue=()
enqueue_needed() { # enqueue the non-base NEEDED of an ELF file
    local dep
    while IFS= read -r dep; do
        [ -n "$dep" ] || continue
        is_base "$dep" && continue
        [ -n "${bundled[$dep]:-}" ] && continue
        bundled[$dep]=pending
        queue+=("$dep")
    done < <(needed_of "$1")
}
bundle_queue() {
    while [ ${#queue[@]} -gt 0 ]; do
        local soname="${queue[0]}"
        queue=("${queue[@]:1}")
        local src="${where[$soname]:-}"
        [ -n "$src" ] || die "cannot resolve $soname (needed by the package) on this machine"
        cp -L "$src" "$stage/lib/$soname"
        chmod 0644 "$stage/lib/$soname"
        bundled[$soname]="$src"
        enqueue_needed "$src"
    done
}
enqueue_needed "$bootstrap"
bundle_queue

# --- MariaDB Connector/C plugins -----------------------------------------------------------
if [ -n "${bundled[libmariadb.so.3]:-}" ] || [ -n "$plugin_dir" ]; then
    if [ -z "$plugin_dir" ]; then
        candidates=()
        if command -v mariadb_config >/dev/null; then
            candidates+=("$(mariadb_config --plugindir 2>/dev/null || true)")
        fi
        libdir="$(dirname "${bundled[libmariadb.so.3]:-/nonexistent/x}")"
        candidates+=("$libdir/libmariadb3/plugin" "$libdir/mariadb/plugin" "/usr/lib64/mariadb/plugin"
            "/usr/lib/mariadb/plugin" "/usr/local/lib/mariadb/plugin" "/usr/local/lib64/mariadb/plugin")
        for c in "${candidates[@]}"; do
            if [ -n "$c" ] && [ -f "$c/caching_sha2_password.so" ]; then
                plugin_dir="$c"
                break
            fi
        done
        [ -n "$plugin_dir" ] || die "MariaDB plugin directory not found (tried: ${candidates[*]}); pass --mariadb-plugin-dir"
    fi
    mkdir -p "$stage/lib/mariadb/plugin"
    for p in "${MARIADB_PLUGINS[@]}"; do
        if [ ! -f "$plugin_dir/$p" ]; then
            # Some builds link a plugin into libmariadb itself (CLIENT_PLUGIN_X=STATIC).
            lib="${bundled[libmariadb.so.3]:-}"
            if [ -n "$lib" ] && grep -qa "${p%.so}" "$lib"; then
                warn "$p is not in $plugin_dir; libmariadb names it, assuming it is built in"
                continue
            fi
            die "$plugin_dir/$p is missing (MySQL 8 logins need the MariaDB auth plugins)"
        fi
        cp -L "$plugin_dir/$p" "$stage/lib/mariadb/plugin/$p"
        chmod 0644 "$stage/lib/mariadb/plugin/$p"
        resolve_with_ldd "$plugin_dir/$p"
        enqueue_needed "$plugin_dir/$p"
    done
    bundle_queue
fi

# --- CA bundle for database TLS -----------------------------------------------------------
if [ -n "$ca_bundle" ]; then
    [ -f "$ca_bundle" ] || die "$ca_bundle: no such file"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_bundle" || die "$ca_bundle holds no PEM certificate"
    mkdir -p "$stage/certs"
    cp "$ca_bundle" "$stage/certs/rds-global-bundle.pem"
    chmod 0644 "$stage/certs/rds-global-bundle.pem"
else
    warn "no --rds-ca-bundle: certs/rds-global-bundle.pem omitted; database TLS will verify against the system CA bundle unless SMROTATE_DB_CA_FILE is set (download https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)"
fi

# --- glibc symbol versions -----------------------------------------------------------------
newest=""
while IFS= read -r -d '' f; do
    v="$(objdump -T "$f" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1 || true)"
    [ -n "$v" ] || continue
    if [ "$(printf '%s\n%s\n' "$v" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
        die "${f#"$stage"/} needs GLIBC_$v, newer than GLIBC_$max_glibc (Amazon Linux 2023)"
    fi
    if [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$v" "$newest" | sort -V | tail -n 1)" = "$v" ]; then
        newest="$v"
    fi
done < <(find "$stage" -type f \( -name bootstrap -o -name '*.so*' \) -print0)

# --- zip (sorted entries, fixed timestamps, no extra attributes) ---------------------------
find "$stage" -exec touch -h -d '1980-01-02 00:00:00' {} +
mkdir -p "$(dirname "$output")"
output_abs="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
rm -f "$output_abs"
(cd "$stage" && find . -mindepth 1 ! -type d | sed 's|^\./||' | sort | zip -q -9 -X -D --symlinks "$output_abs" -@)

size="$(wc -c <"$output_abs" | tr -d ' ')"
note "wrote $output ($size bytes, $(( (size + 1023) / 1024 )) KiB) for $machine; newest glibc symbol: GLIBC_${newest:-none}"
for soname in $(printf '%s\n' "${!bundled[@]}" | sort); do
    note "  lib/$soname <- ${bundled[$soname]}"
done
[ -d "$stage/lib/mariadb/plugin" ] && note "  lib/mariadb/plugin/ <- $plugin_dir"
if [ -n "$keep_stage" ]; then
    rm -rf "$keep_stage"
    mkdir -p "$(dirname "$keep_stage")"
    mv "$stage" "$keep_stage"
    note "staging tree kept in $keep_stage"
fi
exit 0
