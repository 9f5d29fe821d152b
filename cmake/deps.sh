#!/usr/bin/env bash
# deps.sh: the static dependencies of the deployable bootstrap - OpenSSL, libcurl, libpq, MariaDB
# Connector/C, expat and cJSON - built from the Debian 13 (trixie) source packages that
# cmake/deps.lock pins, natively or cross-compiled, on a Debian 12 machine. One recipe for CI, a
# fresh machine and docker/Dockerfile; how each library is configured is cmake/deps-recipe.sh.
#
#   cmake/deps.sh prepare [ARCH]      (root) enable-deb-src, then install-tools ARCH
#   cmake/deps.sh enable-deb-src      (root) derives deb-src entries for Debian 13's suites from the
#                                     machine's own Debian entries (one-line `deb ...` in
#                                     sources.list / *.list, deb822 *.sources stanzas with
#                                     `Types: deb`; bookworm becomes trixie), writes them to
#                                     /etc/apt/sources.list.d/smrotate-deb-src.{list,sources} and
#                                     runs apt-get update when they are new. No mirror is named
#                                     here. `outdated` and `lock` read that index.
#   cmake/deps.sh derive-deb-src      prints those entries (DEPS_APT_DIR: another directory than
#                                     /etc/apt)
#   cmake/deps.sh install-tools [ARCH]  (root) apt-get install what the recipe and the package's
#                                     link (lld) need; with ARCH (amd64 or arm64) other than the
#                                     machine's, Debian's cross toolchain too
#                                     (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross)
#   cmake/deps.sh build [DIR] [TARGET]
#                                     builds the libraries for TARGET (x86_64-linux-gnu or
#                                     aarch64-linux-gnu, or amd64/arm64; default: this machine's)
#                                     into DIR/TRIPLET-KEY/ unless a complete build is there, and
#                                     prints that prefix as its last line. KEY hashes cmake/deps.lock,
#                                     cmake/deps-recipe.sh, TARGET and, cross-compiling, the
#                                     toolchain files. DIR defaults to cache-dir, outside any
#                                     clone: every clone and CI run on the machine reuses one
#                                     build; builds unused for 30 days are removed.
#   cmake/deps.sh cache-dir           prints that default: /var/cache/smrotate/deps if writable,
#                                     else ${XDG_CACHE_HOME:-~/.cache}/smrotate/deps
#   cmake/deps.sh outdated            per locked package: the newer versions the configured
#                                     archives index (security ones included), whether the archive
#                                     serves them, and the CVE lines of their changelogs
#   cmake/deps.sh lock NAME VERSION   pins NAME at VERSION in cmake/deps.lock with its .dsc's
#                                     SHA-256, once the .dsc is proven genuine: its hash in apt's
#                                     signed index, or (a version the index no longer lists) its
#                                     OpenPGP signature by a Debian developer (debian-keyring)
#
# Sources: for each line of cmake/deps.lock (NAME VERSION SHA-256-of-the-.dsc) the .dsc is
# downloaded from the pool of the Debian archives the machine's apt sources name (apt-helper: apt's
# own transport and proxy settings); its SHA-256 must be the locked one, every file it lists must
# have the SHA-256 it gives, and dpkg-source -x unpacks them with Debian's patches. A version no
# archive serves fails the build, and so does a changed hash: there is no silent fallback.
# DEPS_ALLOW_UNLOCKED=1 (a developer's explicit opt-in) lets a version that cannot be fetched fall
# back to the newest one `apt-get source` can fetch (a changed hash still fails); such a build
# has a key of its own and is marked NOT FOR RELEASE (a file in the prefix, which static_deps.cmake
# turns into a warning, the SBOM and `bootstrap --version`).
# <prefix>/VERSIONS lists what was built: "NAME VERSION SHA-256-of-the-.dsc URL" per line.
#
# Environment: JOBS (default nproc), DEPS_KEEP_SOURCES=1 keeps the unpacked sources.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LOCK="${DEPS_LOCK:-$HERE/deps.lock}"
RECIPE="$HERE/deps-recipe.sh"
PACKAGES=(openssl curl postgresql-17 mariadb expat cjson)
SUITES_RE='^(bookworm|trixie)(-updates|-security)?$' # the machine's Debian entries
APT_DIR="${DEPS_APT_DIR:-/etc/apt}"                  # another directory only to test derive-deb-src
SRC_LIST="$APT_DIR/sources.list.d/smrotate-deb-src.list"
SRC_DEB822="$APT_DIR/sources.list.d/smrotate-deb-src.sources"
KEEP_DAYS=30

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

# --- the machine's Debian archives ------------------------------------------------------------

debian_list_files() {
    local f
    for f in "$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list; do
        [ -f "$f" ] && [ "$f" != "$SRC_LIST" ] && echo "$f"
    done
    return 0
}

debian_deb822_files() {
    local f
    for f in "$APT_DIR"/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$SRC_DEB822" ] && echo "$f"
    done
    return 0
}

# One-line entries: `deb [options] URI SUITE COMPONENT...` of Debian 12 or 13 -> the same for
# Debian 13 with deb-src, unless that deb-src line is there already.
derive_one_line() {
    local files=() have
    mapfile -t files < <(debian_list_files)
    [ ${#files[@]} -gt 0 ] || return 0
    have="$(sed -n 's/^[ \t]*\(deb-src[ \t].*\)$/\1/p' "${files[@]}" | tr -s ' \t' '  ' | sed 's/ *$//')"
    awk -v re="$SUITES_RE" '
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
            if (n < 3 || w[2] !~ re) next
            sub(/^bookworm/, "trixie", w[2])
            gsub(/bookworm/, "trixie", opts) # a keyring named for the release
            out = "deb-src " (opts == "" ? "" : opts " ") w[1]
            for (i = 2; i <= n; i++) out = out " " w[i]
            print out
        }' "${files[@]}" | tr -s ' \t' '  ' | sed 's/ *$//' | sort -u | while IFS= read -r line; do
        [ -n "$have" ] && printf '%s\n' "$have" | grep -qxF -- "$line" || printf '%s\n' "$line"
    done
}

# deb822 stanzas with `Types:` listing deb and a Debian 12 or 13 suite: the same stanza with
# `Types: deb-src` and Debian 13's suites (those it lists with deb-src already left out).
derive_deb822() {
    local f
    while IFS= read -r f; do
        awk -v re="$SUITES_RE" '
            function flush(   i, ok, n, s, out) {
                if (nlines == 0) return
                ok = (types ~ /(^|[ \t])deb([ \t]|$)/) && enabled != "no"
                n = split(suites, s, /[ \t]+/)
                out = ""
                for (i = 1; i <= n; i++) {
                    if (s[i] !~ re) continue
                    if (sub(/^bookworm/, "trixie", s[i]) == 0 && types ~ /deb-src/) continue
                    if (index(" " out " ", " " s[i] " ") == 0) out = out (out == "" ? "" : " ") s[i]
                }
                if (ok && out != "") {
                    for (i = 1; i <= nlines; i++) {
                        if (lines[i] == "@SUITES@") print "Suites: " out
                        else print lines[i]
                    }
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
                    line = "@SUITES@"
                } else if (tolower(line) ~ /^enabled:/) {
                    enabled = tolower(line); sub(/^[^:]*:[ \t]*/, "", enabled)
                } else if (tolower(line) ~ /^signed-by:/) {
                    gsub(/bookworm/, "trixie", line) # a keyring named for the release
                }
                lines[++nlines] = line
            }
            END { flush() }' "$f"
    done < <(debian_deb822_files)
}

# "URI POOL" of every Debian archive the machine uses (both formats, deb or deb-src): POOL is
# pool/updates/main for a -security suite, pool/main otherwise. Where the .dsc files are fetched.
archive_pools() {
    local files=()
    mapfile -t files < <(debian_list_files)
    if [ ${#files[@]} -gt 0 ]; then
        awk -v re="$SUITES_RE" '/^[ \t]*deb(-src)?[ \t]/ {
            sub(/\[[^]]*\]/, "")
            if ($3 ~ re) print $2, ($3 ~ /-security$/ ? "pool/updates/main" : "pool/main")
        }' "${files[@]}"
    fi
    local f
    while IFS= read -r f; do
        awk -v re="$SUITES_RE" '
            function flush(   i, j, nu, ns, u, s) {
                nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                if (enabled != "no")
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) if (s[j] ~ re)
                        print u[i], (s[j] ~ /-security$/ ? "pool/updates/main" : "pool/main")
                uris = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($0) ~ /^uris:/ { uris = $0; sub(/^[^:]*:[ \t]*/, "", uris) }
            tolower($0) ~ /^suites:/ { suites = $0; sub(/^[^:]*:[ \t]*/, "", suites) }
            tolower($0) ~ /^enabled:/ { enabled = tolower($0); sub(/^[^:]*:[ \t]*/, "", enabled) }
            END { flush() }' "$f"
    done < <(debian_deb822_files)
}

# postgresql-17 is in Debian 13's index and not in Debian 12's.
have_sources_index() {
    apt-cache showsrc --only-source postgresql-17 2>/dev/null | grep '^Version:' >/dev/null
}

enable_deb_src() {
    local one deb822 changed=0 tmp pair file content
    one="$(derive_one_line)"
    deb822="$(derive_deb822)"
    [ -n "$one$deb822" ] || die "no Debian 12 or 13 'deb' entry in /etc/apt/sources.list or sources.list.d/ to derive deb-src from"
    tmp="$(mktemp)"
    for pair in "$SRC_LIST:one" "$SRC_DEB822:deb822"; do
        file="${pair%%:*}"
        if [ "${pair##*:}" = one ]; then content="$one"; else content="$deb822"; fi
        if [ -z "$content" ]; then
            [ ! -e "$file" ] || { as_root rm -f "$file"; changed=1; }
            continue
        fi
        {
            echo "# Written by smrotate's cmake/deps.sh: Debian 13 deb-src twins of this machine's Debian entries."
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
    have_sources_index || die "apt has no Debian 13 source index after enabling deb-src (see $SRC_LIST / $SRC_DEB822)"
}

# lld is not the recipe's: the package itself links with it (cmake/static_deps.cmake).
TOOLS=(dpkg-dev build-essential cmake perl pkg-config make binutils bison flex zip unzip lld)

# Debian's name for a GNU triplet's architecture, and back.
deb_arch() {
    case "$1" in
    x86_64-linux-gnu) echo amd64 ;;
    aarch64-linux-gnu) echo arm64 ;;
    *) die "unsupported target $1 (x86_64-linux-gnu or aarch64-linux-gnu)" ;;
    esac
}
triplet_of() {
    case "$1" in
    amd64 | x86_64 | x86_64-linux-gnu) echo x86_64-linux-gnu ;;
    arm64 | aarch64 | aarch64-linux-gnu) echo aarch64-linux-gnu ;;
    *) die "unsupported architecture $1 (amd64/x86_64 or arm64/aarch64)" ;;
    esac
}
native_triplet() { triplet_of "$(dpkg --print-architecture)"; }
lambda_arch() { case "$1" in x86_64-linux-gnu) echo x86_64 ;; aarch64-linux-gnu) echo arm64 ;; esac; }

install_tools() {
    local tools=("${TOOLS[@]}") missing=() p arch="${1:-}"
    if [ -n "$arch" ] && [ "$(triplet_of "$arch")" != "$(native_triplet)" ]; then
        local t
        t="$(triplet_of "$arch")"
        tools+=("gcc-${t//_/-}" "binutils-${t//_/-}" "libc6-dev-$(deb_arch "$t")-cross")
    fi
    for p in "${tools[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    note "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
}

# --- the lock ----------------------------------------------------------------------------------

# "NAME VERSION SHA256" for each of PACKAGES, in that order; fails unless the lock has each once.
lock_entries() {
    [ -f "$LOCK" ] || die "$LOCK is missing"
    local p line
    for p in "${PACKAGES[@]}"; do
        line="$(awk -v p="$p" '!/^[ \t]*(#|$)/ && $1 == p' "$LOCK")"
        [ -n "$line" ] || die "$LOCK pins no version of $p"
        [ "$(echo "$line" | wc -l)" = 1 ] || die "$LOCK pins $p more than once"
        echo "$line" | awk '{ if (NF != 3 || $3 !~ /^[0-9a-f]{64}$/) exit 1; print $1, $2, $3 }' ||
            die "$LOCK: '$line' is not 'NAME VERSION SHA256'"
    done
}

# pool/<...>/<prefix>/NAME/ and the .dsc's file name of NAME at VERSION (the epoch dropped).
pool_dir() {
    case "$1" in
    lib?*) echo "${1:0:4}/$1" ;;
    *) echo "${1:0:1}/$1" ;;
    esac
}
dsc_name() { echo "$1_${2#*:}.dsc"; }
url_escape() { local s="${1//+/%2b}"; s="${s//\~/%7e}"; echo "${s//:/%3a}"; }

download() { # url dest: apt's transport (its proxy settings); no output on success
    local log
    log="$(/usr/lib/apt/apt-helper download-file "$1" "$2" 2>&1 </dev/null)" && [ -f "$2" ] && return 0
    rm -f "$2"
    echo "$log" | grep -E '^(E|Err)' | head -n 1 >&2
    return 1
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Downloads NAME_VERSION.dsc into DIR from the first archive that serves it and prints
# "URL-of-its-directory". Returns 1 when none does.
fetch_dsc() { # name version dir
    local uri pool base dsc
    dsc="$(dsc_name "$1" "$2")"
    while read -r uri pool; do
        base="${uri%/}/$pool/$(pool_dir "$1")"
        if download "$base/$(url_escape "$dsc")" "$3/$dsc" 2>/dev/null; then
            echo "$base"
            return 0
        fi
    done < <(archive_pools | awk '!seen[$0]++')
    return 1
}

# Fetches the files a verified .dsc lists, checks each SHA-256 and unpacks them (dpkg-source -x,
# Debian's patches applied). Prints the source directory.
unpack() { # dir dsc base-url
    local dir="$1" dsc="$2" base="$3" sha size file
    while read -r sha size file; do
        [ -n "$file" ] || continue
        download "$base/$(url_escape "$file")" "$dir/$file" || die "$base/$file: cannot be fetched"
        [ "$(sha256_of "$dir/$file")" = "$sha" ] || die "$file: SHA-256 differs from the one its .dsc gives"
    done < <(awk '/^Checksums-Sha256:/ {f = 1; next} /^[^ ]/ {f = 0} f' "$dir/$dsc")
    (cd "$dir" && dpkg-source -x "$dsc" >"$dir/${dsc%.dsc}.unpack.log" 2>&1 </dev/null) ||
        die "dpkg-source -x $dsc failed (see $dir/${dsc%.dsc}.unpack.log)"
    sed -n 's/^dpkg-source: info: extracting .* in \(.*\)$/\1/p' "$dir/${dsc%.dsc}.unpack.log" |
        head -n 1 | sed "s|^|$dir/|"
}

# The locked version: "SRCDIR VERSION SHA256 URL", or return 3 when no archive serves it. A .dsc
# whose hash is not the locked one stops everything (exit 1).
fetch_locked() { # name version sha dir
    local base dsc got
    base="$(fetch_dsc "$1" "$2" "$4")" || return 3
    dsc="$(dsc_name "$1" "$2")"
    got="$(sha256_of "$4/$dsc")"
    [ "$got" = "$3" ] ||
        die "$base/$dsc has SHA-256 $got, $LOCK says $3: refusing it (a changed upload or a tampered mirror)"
    echo "$(unpack "$4" "$dsc" "$base") $2 $3 $base/$dsc"
}

# Full versions (with epoch) apt's index lists for a source package, newest first.
known_versions() {
    apt-cache showsrc --only-source "$1" 2>/dev/null | awk '/^Version:/ && !seen[$2]++ {print $2}' |
        sort_versions
}
sort_versions() { # stdin: versions; stdout: newest first (dpkg's ordering)
    local all=() v i j t
    while IFS= read -r v; do [ -n "$v" ] && all+=("$v"); done
    for ((i = 1; i < ${#all[@]}; i++)); do
        for ((j = i; j > 0; j--)); do
            dpkg --compare-versions "${all[$j]}" gt "${all[$((j - 1))]}" || break
            t="${all[$j]}"; all[$j]="${all[$((j - 1))]}"; all[$((j - 1))]="$t"
        done
    done
    [ ${#all[@]} -eq 0 ] || printf '%s\n' "${all[@]}"
}

# DEPS_ALLOW_UNLOCKED=1 only: the newest version apt-get source can fetch (apt checks it against
# the signed index). Prints "SRCDIR VERSION SHA256 apt-get-source".
fetch_unlocked() { # name dir
    local v dsc
    while IFS= read -r v; do
        if (cd "$2" && apt-get source -qq --only-source "$1=$v" >"$2/$1.log" 2>&1 </dev/null); then
            dsc="$(dsc_name "$1" "$v")"
            echo "$(find "$2" -mindepth 1 -maxdepth 1 -type d -name "$1-*" | head -n 1) $v" \
                "$(sha256_of "$2/$dsc") apt-get-source"
            return 0
        fi
        rm -rf "${2:?}/$1"[-_]*
    done < <(known_versions "$1")
    die "no version of source package $1 could be fetched either (cmake/deps.sh enable-deb-src?)"
}

# --- build -------------------------------------------------------------------------------------

cache_dir() {
    local d=/var/cache/smrotate/deps
    if mkdir -p "$d" 2>/dev/null && [ -w "$d" ]; then
        echo "$d"
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/smrotate/deps"
    fi
}

build_one() { # name srcdir: the recipe's build_<name>, its log appended to $PREFIX.log
    case "$1" in
    openssl) build_openssl "$2" ;;
    curl) build_curl "$2" ;;
    postgresql-17) build_libpq "$2" ;;
    mariadb) build_mariadb "$2" ;;
    expat) build_expat "$2" ;;
    cjson) build_cjson "$2" ;;
    esac >>"$PREFIX.log" 2>&1 </dev/null
}

build_all() { # ENTRIES: the lock's lines; writes $PREFIX, $PREFIX/VERSIONS
    local name version sha line dir t0 rc unlocked=()
    while read -r name version sha; do
        t0=$SECONDS
        rc=0
        line="$(fetch_locked "$name" "$version" "$sha" "$SRC")" || rc=$?
        [ "$rc" = 0 ] || [ "$rc" = 3 ] || exit "$rc"
        if [ "$rc" = 3 ]; then
            [ "${DEPS_ALLOW_UNLOCKED:-0}" = 1 ] ||
                die "$name $version (cmake/deps.lock) is served by none of: $(archive_pools | awk '{print $1}' | sort -u | paste -sd' ' -)"
            note "warning: $name $version cannot be fetched; DEPS_ALLOW_UNLOCKED=1: the newest version apt-get source can fetch instead - NOT FOR RELEASE"
            line="$(fetch_unlocked "$name" "$SRC")"
            unlocked+=("$name ${line#* }")
        fi
        dir="${line%% *}"
        note "$name $(echo "$line" | cut -d' ' -f2): fetched in $((SECONDS - t0)) s, building"
        build_one "$name" "$dir" || die "$name: the build failed"
        licence "$dir/debian" "$name" copyright
        note "$name: done in $((SECONDS - t0)) s"
        echo "${line#* }" | awk -v n="$name" '{print n, $1, $2, $3}' >>"$PREFIX/VERSIONS.tmp"
        [ "${DEPS_KEEP_SOURCES:-0}" = 1 ] || rm -rf "$dir"
    done <<<"$ENTRIES"
    if [ ${#unlocked[@]} -gt 0 ]; then
        printf '%s (not the version cmake/deps.lock pins)\n' "${unlocked[@]}" >"$PREFIX/NOT-FOR-RELEASE"
    fi
    mv "$PREFIX/VERSIONS.tmp" "$PREFIX/VERSIONS"
}

build() {
    local root="${1:-}" target="${2:-}" key lockfd p
    [ -n "$root" ] || root="$(cache_dir)"
    target="$(triplet_of "${target:-$(dpkg --print-architecture)}")"
    mkdir -p "$root"
    root="$(cd "$root" && pwd)"
    ENTRIES="$(lock_entries)"
    TOOLCHAIN="$HERE/toolchain-$(lambda_arch "$target").cmake"
    [ "$target" = "$(native_triplet)" ] || [ -f "$TOOLCHAIN" ] || die "$TOOLCHAIN is missing"
    key="$( (echo "$ENTRIES"; cat "$RECIPE"; echo "$target";
        [ "$target" = "$(native_triplet)" ] || cat "$TOOLCHAIN" "$HERE/toolchain-cross.cmake";
        [ "${DEPS_ALLOW_UNLOCKED:-0}" != 1 ] || echo unlocked) | sha256sum | cut -c1-16)"
    PREFIX="$root/$target-$key"
    exec {lockfd}>"$PREFIX.lock"
    flock "$lockfd" # another configure building the same key: wait for it, then reuse its build
    if [ -f "$PREFIX/.complete" ]; then
        note "reusing $PREFIX ($(awk '{print $1 " " $2}' "$PREFIX/VERSIONS" | paste -sd, -))"
        touch "$PREFIX/.complete" "$PREFIX.lock"
        echo "$PREFIX"
        return 0
    fi
    note "building into $PREFIX (-j$JOBS, $target); log: $PREFIX.log"
    exec 3>&2
    trap '[ -f "$PREFIX/.complete" ] || { echo "deps.sh: failed; the end of $PREFIX.log:"; tail -n 40 "$PREFIX.log"; } >&3' EXIT
    rm -rf "$PREFIX" "$PREFIX.src" "$PREFIX.log"
    SRC="$PREFIX.src"
    TARGET="$target"
    # Configured from CMake, the environment carries CMake's compiler as CC, a full path: the
    # recipe picks each library's compiler itself (OpenSSL prepends the cross prefix to CC, which
    # made "aarch64-linux-gnu-/usr/bin/aarch64-linux-gnu-gcc"), so none is inherited.
    unset CC CXX
    [ "$target" = "$(native_triplet)" ] || export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig"
    mkdir -p "$PREFIX" "$SRC"
    # shellcheck source=deps-recipe.sh
    . "$RECIPE"
    local t0=$SECONDS
    build_all
    [ "${DEPS_KEEP_SOURCES:-0}" = 1 ] || rm -rf "$SRC"
    touch "$PREFIX/.complete"
    note "built in $((SECONDS - t0)) s"
    # Builds nobody used for KEEP_DAYS days (other locks, recipes, branches; failed ones) go.
    for p in "$root"/*-linux-gnu-*.lock; do
        p="${p%.lock}"
        [ "$p" != "$PREFIX" ] || continue
        if [ -z "$(find "$p.lock" "$p/.complete" -mtime -"$KEEP_DAYS" 2>/dev/null)" ]; then
            rm -rf "$p" "$p".{log,lock,src}
        fi
    done
    echo "$PREFIX"
}

# --- outdated and lock -------------------------------------------------------------------------

# The binary package whose changelog.Debian.gz tells what changed (what bootstrap links).
changelog_package() {
    case "$1" in
    openssl) echo libssl3t64 ;;
    curl) echo libcurl4t64 ;;
    postgresql-17) echo libpq5 ;;
    mariadb) echo libmariadb3 ;;
    expat) echo libexpat1 ;;
    cjson) echo libcjson1 ;;
    esac
}

# Prints the changelog of NAME at VERSION: from the source package's .debian.tar.xz when the
# archive serves it, else from a binary package of that version (informational: the binary's hash
# is in an index this machine does not read).
changelog_of() { # name version dir
    local name="$1" v="${2#*:}" dir="$3" uri pool base f bin
    bin="$(changelog_package "$name")"
    while read -r uri pool; do
        base="${uri%/}/$pool/$(pool_dir "$name")"
        f="${name}_$v.debian.tar.xz"
        if download "$base/$(url_escape "$f")" "$dir/$f" 2>/dev/null; then
            tar -xJOf "$dir/$f" debian/changelog 2>/dev/null && return 0
        fi
        f="${bin}_${v}_$(dpkg --print-architecture).deb"
        if download "$base/$(url_escape "$f")" "$dir/$f" 2>/dev/null; then
            dpkg-deb --fsys-tarfile "$dir/$f" | tar -xO --wildcards "./usr/share/doc/*/changelog.Debian.gz" 2>/dev/null |
                gzip -dc && return 0
        fi
    done < <(archive_pools | awk '!seen[$0]++')
    return 1
}

outdated() {
    local name version sha newer v tmp any=0 entries
    entries="$(lock_entries)"
    TMPD="$(mktemp -d)"
    tmp="$TMPD"
    have_sources_index || die "apt has no Debian 13 source index: run cmake/deps.sh enable-deb-src (as root)"
    while read -r name version sha; do
        newer="$(known_versions "$name" | while IFS= read -r v; do
            if dpkg --compare-versions "$v" gt "$version"; then echo "$v"; fi; done)"
        if [ -z "$newer" ]; then
            echo "$name $version: current"
            continue
        fi
        any=1
        echo "$name $version: newer $(echo "$newer" | while IFS= read -r v; do
            if fetch_dsc "$name" "$v" "$tmp" >/dev/null; then echo "$v"; else echo "$v (not served)"; fi
        done | paste -sd' ' -), indexed in $(apt-cache madison "$name" |
            awk -F'|' '/Sources/ {print $3}' | awk '{print $2}' | sort -u | paste -sd' ' -)"
        v="$(echo "$newer" | head -n 1)"
        if changelog_of "$name" "$v" "$tmp" >"$tmp/changelog"; then
            dpkg-parsechangelog -l "$tmp/changelog" --since "$version" --format rfc822 2>/dev/null |
                awk '/^Version:/ {v = $2} /CVE-[0-9]+-[0-9]+/ {sub(/^[ \t]+/, ""); print "    " v ": " $0}'
        else
            echo "    (the archive serves no changelog of $v; see https://tracker.debian.org/pkg/$name)"
        fi
    done <<<"$entries"
    [ "$any" = 0 ] || echo "To move: cmake/deps.sh lock NAME VERSION (with a version the archive serves), then build."
}

lock() { # name version
    local name="${1:-}" version="${2:-}" tmp base dsc sha indexed kr=()
    [ -n "$name" ] && [ -n "$version" ] || die "usage: deps.sh lock NAME VERSION"
    printf '%s\n' "${PACKAGES[@]}" | grep -qxF "$name" || die "$name is not one of ${PACKAGES[*]}"
    TMPD="$(mktemp -d)"
    tmp="$TMPD"
    base="$(fetch_dsc "$name" "$version" "$tmp")" || die "no configured archive serves $name $version"
    dsc="$(dsc_name "$name" "$version")"
    sha="$(sha256_of "$tmp/$dsc")"
    indexed="$(apt-get source --print-uris -qq --only-source "$name=$version" 2>/dev/null |
        awk -v f="$dsc" '$2 == f {sub(/^SHA256:/, "", $4); print $4}' || true)"
    if [ -n "$indexed" ]; then
        [ "$indexed" = "$sha" ] || die "$dsc: SHA-256 $sha, apt's signed index says $indexed"
        note "$dsc: SHA-256 as in apt's signed index"
    else
        for f in /usr/share/keyrings/debian-keyring.gpg /usr/share/keyrings/debian-maintainers.gpg; do
            [ -f "$f" ] && kr+=(--keyring "$f")
        done
        [ ${#kr[@]} -gt 0 ] || die "$name $version is not in apt's index; to check its signature instead: apt-get install debian-keyring"
        gpgv "${kr[@]}" "$tmp/$dsc" >"$tmp/gpgv.log" 2>&1 ||
            die "$dsc: no valid signature by a Debian developer: $(tail -n 1 "$tmp/gpgv.log")"
        note "$dsc: signed by $(sed -n 's/.*Good signature from "\(.*\)".*/\1/p' "$tmp/gpgv.log" | head -n 1)"
    fi
    awk -v n="$name" -v line="$(printf '%-14s %-24s %s' "$name" "$version" "$sha")" '
        $1 == n && !done { print line; done = 1; next } { print } END { if (!done) print line }' \
        "$LOCK" >"$tmp/lock"
    cat "$tmp/lock" >"$LOCK"
    note "$LOCK: $name $version"
}

main() {
    JOBS="${JOBS:-$(nproc)}"
    TMPD=""
    trap '[ -z "$TMPD" ] || rm -rf "$TMPD"' EXIT
    case "${1:-}" in
    prepare) enable_deb_src && install_tools "${2:-}" ;;
    enable-deb-src) enable_deb_src ;;
    derive-deb-src) echo "# $SRC_LIST" && derive_one_line && echo "# $SRC_DEB822" && derive_deb822 ;;
    install-tools) install_tools "${2:-}" ;;
    build) build "${2:-}" "${3:-}" ;;
    cache-dir) cache_dir ;;
    outdated) outdated ;;
    lock) lock "${2:-}" "${3:-}" ;;
    -h | --help | "") sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command $1 (see --help)" ;;
    esac
}

# One line, so bash has read it whole before it runs: editing this file meanwhile is harmless.
main "$@"; exit $?
