#!/usr/bin/env bash
# deps.sh: the static dependencies of the deployable bootstrap, built from Debian 12's source
# packages. One recipe for CI, a fresh Debian 12 machine and docker/Dockerfile.
#
#   cmake/deps.sh prepare         (root) enable-deb-src + install-tools
#   cmake/deps.sh enable-deb-src  (root) derive deb-src entries from the machine's own apt sources
#                                 (one-line `deb ...` in sources.list / *.list, and deb822
#                                 *.sources stanzas with `Types: deb`) for Debian 12's suites,
#                                 write them to /etc/apt/sources.list.d/smrotate-deb-src.{list,sources},
#                                 and run apt-get update when they are new. No mirror is named here:
#                                 the machine's own entries are reused.
#   cmake/deps.sh derive-deb-src  prints the entries enable-deb-src would write (DEPS_APT_DIR: read
#                                 another directory than /etc/apt)
#   cmake/deps.sh install-tools   (root) apt-get install what the recipe needs (dpkg-dev, compilers)
#   cmake/deps.sh versions        the source package versions apt would fetch, one "name version"
#                                 per line
#   cmake/deps.sh build DIR       builds the libraries into DIR/<arch>-<key>/ unless a complete
#                                 build with that key is there, and prints that prefix as its last
#                                 line. The key hashes the source versions apt offers and the
#                                 recipe (the flags and the build_* functions), so a new Debian
#                                 point release, or a change to how a library is built, builds
#                                 them anew; older builds in DIR are then removed.
#
# Sources: `apt-get source NAME=VERSION` - apt verifies the Release signature of the archive and
# the hashes of the .dsc and tarballs it names; dpkg-source unpacks them with Debian's patches.
# The newest version apt knows is taken; when a mirror does not serve it (a mirror without the
# security archive's sources, say), the next older one of Debian 12's suites, with a warning.
# <prefix>/VERSIONS records what was wanted and what was built.
#
# What is built, each configured for the least bootstrap needs, all static (.a, -fPIC,
# -ffunction-sections -fdata-sections):
#   openssl        libssl, libcrypto           no-shared no-module no-dso no-engine, no tests, and
#                                              none of the protocols and algorithms the clients do
#                                              not use (legacy ciphers, DTLS, SSLv3, SRP, DSA,
#                                              binary curves, OCSP, CT, CMS, TS, SRTP, NPN, ...)
#   curl           libcurl                     HTTP and HTTPS only (OpenSSL), no proxy, HTTP auth,
#                                              cookies, IDN/PSL/zlib/brotli/zstd/nghttp2/ssh/LDAP;
#                                              threaded resolver
#   postgresql-15  libpq, libpgcommon_shlib,   src/common, src/port, src/interfaces/libpq only;
#                  libpgport_shlib             --with-ssl=openssl, no GSSAPI, LDAP, readline,
#                                              ICU or zlib
#   mariadb        libmariadbclient (the       libmariadb/ (MariaDB Connector/C, its own CMake
#                  Connector/C)                project) with caching_sha2_password, client_ed25519
#                                              and sha256_password built in (no plugin directory
#                                              needed), its bundled zlib, no remote_io/GSSAPI
#   expat          libexpat                    the library only
#   cjson          libcjson                    the library only
# Debian 12 has glibc 2.36; the package must run on glibc 2.34 (Amazon Linux 2023). Of the
# configure checks only expat's find functions newer than GLIBC_2.34 (arc4random_buf and
# arc4random, 2.36): they are turned off. docker/package.sh and the package tests check every
# symbol version of the linked bootstrap (and of a probe that links all six libraries).
# Licence texts are copied to <prefix>/share/licenses/<name>/.
#
# Environment: JOBS (default nproc), DEPS_KEEP_SOURCES=1 keeps the unpacked sources.
set -euo pipefail

PACKAGES=(openssl curl postgresql-15 mariadb expat cjson)
DEBIAN_SUITES_RE='^bookworm(-updates|-security)?$'
APT_DIR="${DEPS_APT_DIR:-/etc/apt}" # another directory only to test derive-deb-src
SRC_LIST="$APT_DIR/sources.list.d/smrotate-deb-src.list"
SRC_DEB822="$APT_DIR/sources.list.d/smrotate-deb-src.sources"

die() {
    echo "deps.sh: error: $*" >&2
    exit 1
}
note() { echo "deps.sh: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "needs root (or sudo): $*"
    fi
}

# --- deb-src ---------------------------------------------------------------------------------

# One-line entries: `deb [options] URI SUITE COMPONENT...` -> the same with deb-src, unless that
# deb-src line is there already.
derive_one_line() {
    local f files=()
    for f in "$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list; do
        [ -f "$f" ] && [ "$f" != "$SRC_LIST" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    local have
    have="$(sed -n 's/^[ \t]*\(deb-src[ \t].*\)$/\1/p' "${files[@]}" | tr -s ' \t' '  ' | sed 's/ *$//')"
    for f in "${files[@]}"; do
        awk -v re="$DEBIAN_SUITES_RE" '
            /^[ \t]*deb[ \t]/ {
                line = $0
                sub(/^[ \t]*deb[ \t]+/, "", line)
                opts = ""
                if (line ~ /^\[/) {
                    opts = substr(line, 1, index(line, "]"))
                    line = substr(line, index(line, "]") + 1)
                    sub(/^[ \t]+/, "", line)
                }
                n = split(line, w, /[ \t]+/)
                if (n >= 3 && w[2] ~ re)
                    print "deb-src " (opts == "" ? "" : opts " ") line
            }' "$f"
    done | tr -s ' \t' '  ' | sed 's/ *$//' | sort -u | while IFS= read -r line; do
        [ -n "$have" ] && printf '%s\n' "$have" | grep -qxF -- "$line" || printf '%s\n' "$line"
    done
}

# deb822 stanzas with `Types:` listing deb (and not deb-src): the same stanza with
# `Types: deb-src`, when one of its suites is Debian 12's.
derive_deb822() {
    local f
    for f in "$APT_DIR"/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$SRC_DEB822" ] || continue
        awk -v re="$DEBIAN_SUITES_RE" '
            function flush(   i, ok, n, s) {
                if (nlines == 0) return
                ok = (types ~ /(^|[ \t])deb([ \t]|$)/) && !(types ~ /deb-src/) && enabled != "no"
                n = split(suites, s, /[ \t]+/)
                hit = 0
                for (i = 1; i <= n; i++) if (s[i] ~ re) hit = 1
                if (ok && hit) {
                    for (i = 1; i <= nlines; i++) print lines[i]
                    print ""
                }
                nlines = 0; types = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                line = $0
                if (tolower(line) ~ /^types:/) {
                    types = line; sub(/^[^:]*:[ \t]*/, "", types)
                    line = "Types: deb-src"
                } else if (tolower(line) ~ /^suites:/) {
                    suites = line; sub(/^[^:]*:[ \t]*/, "", suites)
                } else if (tolower(line) ~ /^enabled:/) {
                    enabled = tolower(line); sub(/^[^:]*:[ \t]*/, "", enabled)
                }
                lines[++nlines] = line
            }
            END { flush() }' "$f"
    done
}

have_sources_index() {
    local out
    out="$(apt-cache showsrc cjson 2>/dev/null || true)"
    case "$out" in *"Package: cjson"*) return 0 ;; *) return 1 ;; esac
}

enable_deb_src() {
    local one deb822 changed=0 tmp
    one="$(derive_one_line)"
    deb822="$(derive_deb822)"
    [ -n "$one$deb822" ] || die "no Debian 12 (bookworm) 'deb' entry in /etc/apt/sources.list or sources.list.d/ to derive deb-src from"
    tmp="$(mktemp)"
    for pair in "$SRC_LIST:one" "$SRC_DEB822:deb822"; do
        local file="${pair%%:*}" content
        if [ "${pair##*:}" = one ]; then content="$one"; else content="$deb822"; fi
        if [ -z "$content" ]; then
            [ ! -e "$file" ] || { as_root rm -f "$file"; changed=1; }
            continue
        fi
        {
            echo "# Written by smrotate's cmake/deps.sh: deb-src twins of this machine's Debian 12 entries."
            echo "$content"
        } >"$tmp"
        if ! cmp -s "$tmp" "$file" 2>/dev/null; then
            as_root install -m 0644 "$tmp" "$file"
            changed=1
        fi
    done
    rm -f "$tmp"
    if [ "$changed" = 1 ] || ! have_sources_index; then
        note "apt-get update (deb-src entries: $SRC_LIST $SRC_DEB822)"
        as_root apt-get update -qq
    fi
    have_sources_index || die "apt has no source index after enabling deb-src (see $SRC_LIST / $SRC_DEB822)"
}

TOOLS=(dpkg-dev build-essential cmake perl pkg-config make binutils zip unzip)

install_tools() {
    local missing=() p
    for p in "${TOOLS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    note "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# --- versions --------------------------------------------------------------------------------

# "NAME VERSION" for each source package: the version `apt-get source NAME` would fetch (the
# newest in the enabled suites; the epoch dropped, as in Debian's file names). One apt call.
versions() {
    local uris p v
    uris="$(apt-get source --print-uris -qq --only-source "${PACKAGES[@]}" 2>/dev/null |
        awk '{print $2}' | grep '\.dsc$' || true)"
    for p in "${PACKAGES[@]}"; do
        v="$(echo "$uris" | sed -n "s/^$p"'_\(.*\)\.dsc$/\1/p' | head -n 1)"
        [ -n "$v" ] || die "apt-get source --print-uris $p found nothing (run: cmake/deps.sh enable-deb-src)"
        echo "$p $v"
    done
}

# --- build -----------------------------------------------------------------------------------

# Full versions (with epoch) apt knows for a source package, newest first (dpkg's ordering).
known_versions() {
    local all=() v i j t
    while IFS= read -r v; do
        [ -n "$v" ] && [[ " ${all[*]} " != *" $v "* ]] && all+=("$v")
    done < <(apt-cache showsrc --only-source "$1" 2>/dev/null | awk '/^Version:/ {print $2}')
    for ((i = 1; i < ${#all[@]}; i++)); do
        for ((j = i; j > 0; j--)); do
            dpkg --compare-versions "${all[$j]}" gt "${all[$((j - 1))]}" || break
            t="${all[$j]}"; all[$j]="${all[$((j - 1))]}"; all[$((j - 1))]="$t"
        done
    done
    printf '%s\n' "${all[@]}"
}

# Downloads (apt verifies the signed index and every file's hash) and unpacks (dpkg-source -x,
# Debian's patches applied) the newest version of a source package that the configured archives
# serve; an older one of the same suites only when the newest cannot be fetched (a mirror without
# the security archive's sources, say), with a warning. Prints "DIR VERSION".
fetch() {
    local name="$1" v dir
    while IFS= read -r v; do
        if (cd "$SRC" && apt-get source -qq --only-source "$name=$v" >"$SRC/$name.log" 2>&1); then
            dir="$(find "$SRC" -mindepth 1 -maxdepth 1 -type d -name "$name-*" | head -n 1)"
            [ -d "$dir" ] || die "apt-get source $name=$v unpacked nothing"
            echo "$dir $v"
            return 0
        fi
        note "warning: apt-get source $name=$v failed, trying an older version: $(grep -m1 -E '^(E|Err):' "$SRC/$name.log" || true)"
        rm -rf "${SRC:?}/$name"[-_]*
    done < <(known_versions "$name")
    die "no version of source package $name could be fetched (see $SRC/$name.log)"
}

licence() { # source-dir name files...
    local src="$1" name="$2" f
    shift 2
    mkdir -p "$PREFIX/share/licenses/$name"
    for f in "$@"; do
        [ -f "$src/$f" ] || die "$name: licence file $f missing"
        cp "$src/$f" "$PREFIX/share/licenses/$name/$(basename "$f")"
    done
}

CFLAGS_DEPS="-O2 -g -fPIC -ffunction-sections -fdata-sections" # + -ffile-prefix-map, in build()

build_openssl() {
    local src="$1" target
    case "$(uname -m)" in
    x86_64) target=linux-x86_64 ;;
    aarch64) target=linux-aarch64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
    esac
    # OPENSSLDIR as Debian's (/usr/lib/ssl): absent on Amazon Linux, so no foreign openssl.cnf
    # is read there. bootstrap always names its CA files itself.
    (cd "$src" && ./Configure "$target" --prefix="$PREFIX" --libdir=lib --openssldir=/usr/lib/ssl \
        no-shared no-module no-dso no-engine no-tests no-ui-console no-afalgeng \
        no-comp no-ssl3 no-dtls no-srp no-idea no-seed no-camellia no-aria no-sm2 no-sm3 no-sm4 \
        no-whirlpool no-mdc2 no-rc2 no-rc4 no-rc5 no-bf no-cast no-gost no-legacy no-dsa \
        no-ec2m no-ocsp no-ct no-cms no-ts no-srtp no-nextprotoneg no-rfc3779 \
        $CFLAGS_DEPS &&
        make -j"$JOBS" build_libs && make install_dev) || die "openssl build failed"
    licence "$src" openssl LICENSE.txt
}

build_curl() {
    local src="$1"
    (cd "$src" && ./configure --prefix="$PREFIX" --disable-shared --enable-static --with-pic \
        --disable-dependency-tracking \
        --with-openssl="$PREFIX" --without-ca-bundle --without-ca-path --without-ca-fallback \
        --enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
        --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb \
        --disable-smtp --disable-gopher --disable-mqtt --disable-proxy --disable-manual \
        --disable-verbose --disable-http-auth --disable-ntlm --disable-ntlm-wb \
        --disable-kerberos-auth --disable-negotiate-auth --disable-get-easy-options \
        --disable-headers-api --disable-cookies --disable-alt-svc --disable-hsts --disable-doh \
        --disable-mime --disable-netrc --disable-progress-meter --disable-dateparse \
        --disable-aws --disable-tls-srp --disable-unix-sockets --enable-threaded-resolver \
        --without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 \
        --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
        --without-libssh2 --without-libssh --without-wolfssh --without-librtmp --without-libgsasl \
        --without-hyper --without-gssapi \
        CFLAGS="$CFLAGS_DEPS" LIBS="-lpthread" &&
        make -j"$JOBS" -C lib && make -C lib install && make -C include install) ||
        die "curl build failed"
    licence "$src" curl COPYING
}

build_libpq() {
    local src="$1"
    (cd "$src" && ./configure --prefix="$PREFIX" --with-ssl=openssl --without-gssapi --without-ldap \
        --without-readline --without-icu --without-zlib --without-lz4 --without-zstd \
        --without-libxml --without-libxslt --without-llvm --without-perl --without-python \
        --without-tcl --without-pam --without-bsd-auth --without-systemd --without-selinux \
        --disable-nls --disable-rpath \
        CFLAGS="$CFLAGS_DEPS" CPPFLAGS="-I$PREFIX/include" LDFLAGS="-L$PREFIX/lib" &&
        make -C src/backend generated-headers &&
        make -j"$JOBS" -C src/common libpgcommon_shlib.a &&
        make -j"$JOBS" -C src/port libpgport_shlib.a &&
        make -j"$JOBS" -C src/interfaces/libpq all-static-lib) || die "libpq build failed"
    mkdir -p "$PREFIX/lib" "$PREFIX/include"
    cp "$src/src/interfaces/libpq/libpq.a" "$src/src/common/libpgcommon_shlib.a" \
        "$src/src/port/libpgport_shlib.a" "$PREFIX/lib/"
    cp "$src/src/interfaces/libpq/libpq-fe.h" "$src/src/interfaces/libpq/libpq-events.h" \
        "$src/src/include/postgres_ext.h" "$src/src/include/pg_config_ext.h" "$PREFIX/include/"
    licence "$src" postgresql COPYRIGHT
}

build_mariadb() {
    local src="$1/libmariadb"
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
        -DWITH_SSL=OPENSSL -DOPENSSL_ROOT_DIR="$PREFIX" -DOPENSSL_USE_STATIC_LIBS=ON \
        -DWITH_EXTERNAL_ZLIB=OFF -DWITH_CURL=OFF -DWITH_UNIT_TESTS=OFF -DWITH_DYNCOL=OFF \
        -DWITH_ICONV=OFF -DWITH_MYSQLCOMPAT=OFF -DWITH_DOCS=OFF \
        -DCLIENT_PLUGIN_CACHING_SHA2_PASSWORD=STATIC -DCLIENT_PLUGIN_CLIENT_ED25519=STATIC \
        -DCLIENT_PLUGIN_SHA256_PASSWORD=STATIC -DCLIENT_PLUGIN_DIALOG=OFF \
        -DCLIENT_PLUGIN_MYSQL_CLEAR_PASSWORD=OFF -DCLIENT_PLUGIN_MYSQL_OLD_PASSWORD=OFF \
        -DCLIENT_PLUGIN_AUTH_GSSAPI_CLIENT=OFF -DCLIENT_PLUGIN_REMOTE_IO=OFF \
        -DCLIENT_PLUGIN_ZSTD=OFF -DCLIENT_PLUGIN_REPLICATION=OFF || die "mariadb (libmariadb) configure failed"
    cmake --build "$src/build" -j"$JOBS" --target mariadbclient || die "libmariadb build failed"
    # Installed by hand: its install rules also want the shared library, which is not built.
    mkdir -p "$PREFIX/lib" "$PREFIX/include/mariadb/mysql" "$PREFIX/include/mariadb/mariadb"
    cp "$src/build/libmariadb/libmariadbclient.a" "$PREFIX/lib/"
    cp "$src/build/include/mariadb_version.h" "$src"/include/{mariadb_com.h,mysql.h,mariadb_stmt.h} \
        "$src"/include/{ma_pvio.h,ma_tls.h,ma_list.h,errmsg.h,mariadb_dyncol.h,mariadb_ctype.h} \
        "$src"/include/{mariadb_rpl.h,mysqld_error.h} "$PREFIX/include/mariadb/"
    cp "$src"/include/mysql/{client_plugin.h,plugin_auth.h} "$PREFIX/include/mariadb/mysql/"
    cp "$src/include/mariadb/ma_io.h" "$PREFIX/include/mariadb/mariadb/"
    licence "$src" mariadb-connector-c COPYING.LIB
    licence "$src/external/zlib" zlib LICENSE
}

build_expat() {
    local src="$1/expat"
    # arc4random_buf / arc4random are glibc 2.36: off, so expat seeds from getrandom (2.25).
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF \
        -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF \
        -DEXPAT_BUILD_PKGCONFIG=OFF -DEXPAT_WITH_LIBBSD=OFF \
        -DHAVE_ARC4RANDOM_BUF=OFF -DHAVE_ARC4RANDOM=OFF || die "expat configure failed"
    # Debian's CVE-2024-8176 backport tests `#if XML_DTD == 1`, as autotools (Debian's own build)
    # defines it; expat's CMake template defines an empty XML_DTD.
    sed -i 's/^#define XML_DTD$/#define XML_DTD 1/; s/^#define XML_NS$/#define XML_NS 1/' \
        "$src/build/expat_config.h"
    grep -q '^#define XML_DTD 1$' "$src/build/expat_config.h" || die "expat: XML_DTD not defined"
    ! grep -q '^#define HAVE_ARC4RANDOM' "$src/build/expat_config.h" || die "expat: arc4random is on"
    (cmake --build "$src/build" -j"$JOBS" && cmake --install "$src/build") || die "expat build failed"
    licence "$src" expat COPYING
}

build_cjson() {
    local src="$1"
    cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF \
        -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF \
        -DENABLE_TARGET_EXPORT=OFF || die "cjson configure failed"
    (cmake --build "$src/build" -j"$JOBS" && cmake --install "$src/build") || die "cjson build failed"
    licence "$src" cjson LICENSE
}

build() {
    local root="$1" wanted key p line dir version t0
    [ -n "$root" ] || die "usage: deps.sh build DIR"
    mkdir -p "$root"
    root="$(cd "$root" && pwd)"
    wanted="$(versions)"
    # The key: the versions, the machine, and the recipe (the flags and the build_* functions,
    # without comments), so a change to how a library is built builds them all anew.
    key="$( (echo "$wanted"; uname -m; sed -n '/^CFLAGS_DEPS=/,/^build() {/p' "$0" |
        grep -v '^[[:space:]]*#') | sha256sum | cut -c1-16)"
    PREFIX="$root/$(uname -m)-$key"
    if [ -f "$PREFIX/.complete" ]; then
        note "reusing $PREFIX ($(grep -v "^#" "$PREFIX/VERSIONS" | awk '{print $1 " " $2}' | paste -sd, -))"
        echo "$PREFIX"
        return 0
    fi
    note "building into $PREFIX (-j$JOBS); log: $PREFIX.log"
    exec 3>&2
    trap '[ -f "$PREFIX/.complete" ] || { echo "deps.sh: failed; the end of $PREFIX.log:"; tail -n 40 "$PREFIX.log"; } >&3' EXIT
    rm -rf "$PREFIX" "$PREFIX.src"
    SRC="$PREFIX.src"
    CFLAGS_DEPS="$CFLAGS_DEPS -ffile-prefix-map=$SRC=/usr/src"
    mkdir -p "$PREFIX" "$SRC"
    {
        echo "# source packages wanted (apt-get source NAME) and built"
        for p in "${PACKAGES[@]}"; do
            t0=$SECONDS
            line="$(fetch "$p")"
            dir="${line% *}"
            version="${line##* }"
            note "$p $version: fetched in $((SECONDS - t0)) s, building"
            case "$p" in
            openssl) build_openssl "$dir" ;;
            curl) build_curl "$dir" ;;
            postgresql-15) build_libpq "$dir" ;;
            mariadb) build_mariadb "$dir" ;;
            expat) build_expat "$dir" ;;
            cjson) build_cjson "$dir" ;;
            esac >>"$PREFIX.log" 2>&1
            note "$p $version: done in $((SECONDS - t0)) s"
            echo "$p $version wanted $(echo "$wanted" | awk -v p="$p" '$1 == p {print $2}')"
            [ "${DEPS_KEEP_SOURCES:-0}" = 1 ] || rm -rf "$dir"
        done
    } >"$PREFIX/VERSIONS.tmp"
    mv "$PREFIX/VERSIONS.tmp" "$PREFIX/VERSIONS"
    [ "${DEPS_KEEP_SOURCES:-0}" = 1 ] || rm -rf "$SRC"
    touch "$PREFIX/.complete"
    # Earlier builds (other versions or recipes) are not used again.
    for p in "$root/$(uname -m)"-*; do
        [ "$p" = "$PREFIX" ] || [ "$p" = "$PREFIX.log" ] || rm -rf "$p"
    done
    echo "$PREFIX"
}

main() {
    JOBS="${JOBS:-$(nproc)}"
    case "${1:-}" in
    prepare) enable_deb_src && install_tools ;;
    enable-deb-src) enable_deb_src ;;
    derive-deb-src) echo "# $SRC_LIST" && derive_one_line && echo "# $SRC_DEB822" && derive_deb822 ;;
    install-tools) install_tools ;;
    versions) versions ;;
    build) build "${2:-}" ;;
    -h | --help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command $1 (see --help)" ;;
    esac
}

# One line, so bash has read it whole before it runs: editing this file meanwhile is harmless.
main "$@"; exit $?
