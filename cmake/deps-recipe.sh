# deps-recipe.sh: how cmake/deps.sh configures and builds each static dependency of the package.
# Sourced by deps.sh, which sets PREFIX (install here), TARGET (the GNU triplet to build for),
# TOOLCHAIN (cmake/toolchain-<arch>.cmake of TARGET), SRC (where the sources are unpacked) and
# JOBS; for a cross build, PKG_CONFIG_LIBDIR names the prefix only. Its text is part of the cache key, with
# cmake/deps.lock and TARGET: any change here builds the dependencies anew.
#
# Every library is configured for the least bootstrap needs, all static (.a, -fPIC,
# -ffunction-sections -fdata-sections so the linker drops what is not called):
#   openssl        libssl, libcrypto           no-shared no-module no-dso no-engine, no apps or
#                                              tests, none of the protocols and algorithms the
#                                              clients do not use (legacy ciphers, DES, DTLS, QUIC,
#                                              SSLv3, SRP, DSA, ML-DSA, SLH-DSA, binary curves,
#                                              OCSP, CT, CMS, CMP, TS, argon2, scrypt, ...); ML-KEM
#                                              stays: TLS 1.3's default hybrid key exchange
#   curl           libcurl                     HTTP and HTTPS (OpenSSL) only; proxies (HTTP proxy
#                                              with CONNECT, Basic proxy credentials); threaded
#                                              resolver; no cookies, no other authentication, no
#                                              IDN/PSL/zlib/brotli/zstd/nghttp2/ssh/LDAP
#   postgresql-17  libpq, libpgcommon_shlib,   src/common, src/port, src/interfaces/libpq only;
#                  libpgport_shlib             --with-ssl=openssl, no GSSAPI, LDAP, readline, ICU
#   mariadb        libmariadbclient            libmariadb/ (MariaDB Connector/C 3.4, its own CMake
#                                              project) with caching_sha2_password, client_ed25519
#                                              and sha256_password built in (no plugin directory),
#                                              its bundled zlib, no remote_io/GSSAPI/parsec
#   expat          libexpat                    the library only, XML_DTD and XML_GE on
#   cjson          libcjson                    the library only
# Debian 12 has glibc 2.36 (so has its arm64 cross libc); the package must run on glibc 2.34
# (Amazon Linux 2023). Of the configure checks only expat's find functions newer than GLIBC_2.34
# (arc4random_buf and arc4random, 2.36): they are turned off. docker/package.sh and the package
# tests check every symbol version of the linked bootstrap (and of a probe that links all six).
#
# Each library's licence texts go to <prefix>/share/licenses/<source package>/ (deps.sh adds
# debian/copyright); NOTICES there holds the notices of compiled files under other terms that
# binary distribution must reproduce (PostgreSQL's src/port/snprintf.c, Connector/C's ma_dtoa.c).

# No unwind tables: C code that nothing unwinds through (no C++, no pthread_cancel, no backtrace);
# they were a seventh of the zip.
CFLAGS_DEPS="-O2 -g -fPIC -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
-fno-unwind-tables -ffile-prefix-map=$SRC=/usr/src"

cross() { [ "$TARGET" != "$(native_triplet)" ]; }

# configure --host for a cross build (nothing natively).
autoconf_host() { if cross; then echo "--host=$TARGET"; fi; }

# CMake's cross-compiling settings for TARGET (nothing natively): the project's own toolchain
# file (deps.sh sets TOOLCHAIN and keys the cache on it too), which searches only the cross
# sysroot, never the build machine's libraries.
cmake_cross() { if cross; then echo "-DCMAKE_TOOLCHAIN_FILE=$TOOLCHAIN"; fi; }

licence() { # source-dir name files...
    local src="$1" name="$2" f
    shift 2
    mkdir -p "$PREFIX/share/licenses/$name"
    for f in "$@"; do
        [ -f "$src/$f" ] || die "$name: licence file $f missing"
        cp "$src/$f" "$PREFIX/share/licenses/$name/$(basename "$f")"
    done
}

# Appends to licenses/NAME/NOTICES the leading comments of the sources compiled into ARCHIVE
# whose terms ask for their notice in binary copies. Object names map to sources by base name
# (snprintf_shlib.o and ma_dtoa.c.o -> snprintf.c, ma_dtoa.c), searched under SRCDIR.
notices() { # name archive srcdir
    local out="$PREFIX/share/licenses/$1/NOTICES" member base f
    mkdir -p "$(dirname "$out")"
    while IFS= read -r member; do
        base="${member%.o}"
        base="${base%.c}"
        base="${base%_shlib}"
        while IFS= read -r f; do
            # The header's words, comment markers and line breaks dropped.
            head -n 80 "$f" | sed 's/^[ \t]*[*#/]*[ \t]*//' | tr -s ' \t\n' ' ' |
                grep -iE 'must reproduce|entire notice is included|permission notice appear' \
                    >/dev/null || continue
            {
                echo "==== ${f#"$3"/} ===="
                awk '/^[ \t]*$/ && !c {next} /^[ \t]*\/\*/ {c = 1} c || /^[ \t]*\/\// {print; if (/\*\//) c = 0; next} {exit}' "$f"
                echo
            } >>"$out"
        done < <(find "$3" -name "$base.c" -not -path '*/test*' | sort)
    done < <(ar t "$2" | sort -u)
}

build_openssl() {
    local src="$1" target cross_prefix=()
    case "$TARGET" in
    x86_64-linux-gnu) target=linux-x86_64 ;;
    aarch64-linux-gnu) target=linux-aarch64 ;;
    esac
    if cross; then cross_prefix=(--cross-compile-prefix="$TARGET-"); fi
    # OPENSSLDIR as Debian's (/usr/lib/ssl): absent on Amazon Linux, so no foreign openssl.cnf
    # is read there. bootstrap always names its CA files itself.
    (cd "$src" && ./Configure "$target" "${cross_prefix[@]}" --prefix="$PREFIX" --libdir=lib \
        --openssldir=/usr/lib/ssl \
        no-shared no-module no-dso no-engine no-apps no-tests no-docs no-ui-console no-afalgeng \
        no-comp no-ssl3 no-dtls no-quic no-srp no-idea no-seed no-camellia no-aria no-sm2 no-sm3 \
        no-sm4 no-whirlpool no-mdc2 no-rc2 no-rc4 no-rc5 no-bf no-cast no-gost no-legacy no-dsa \
        no-ec2m no-ocsp no-ct no-cms no-cmp no-ts no-srtp no-nextprotoneg no-rfc3779 no-http \
        no-slh-dsa no-ml-dsa no-des no-md4 no-rmd160 no-blake2 no-argon2 no-scrypt no-siphash \
        no-siv no-ocb no-cmac no-dgram no-async no-multiblock no-ssl-trace no-thread-pool \
        $CFLAGS_DEPS &&
        make -j"$JOBS" build_libs && make install_dev) || die "openssl build failed"
    licence "$src" openssl LICENSE.txt
}

build_curl() {
    local src="$1"
    (cd "$src" && ./configure $(autoconf_host) --prefix="$PREFIX" --disable-shared \
        --enable-static --with-pic --disable-dependency-tracking \
        --with-openssl="$PREFIX" --without-ca-bundle --without-ca-path --without-ca-fallback \
        --enable-http --enable-proxy --disable-ftp --disable-file --disable-ldap --disable-ldaps \
        --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 \
        --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-ipfs \
        --disable-websockets --disable-manual --disable-docs --disable-verbose \
        --enable-basic-auth --disable-bearer-auth --disable-digest-auth --disable-ntlm \
        --disable-kerberos-auth --disable-negotiate-auth --disable-aws --disable-tls-srp \
        --disable-get-easy-options --disable-headers-api --disable-cookies --disable-alt-svc \
        --disable-hsts --disable-doh --disable-httpsrr --disable-ech --disable-ssls-export \
        --disable-mime --disable-form-api --disable-netrc --disable-progress-meter \
        --disable-dateparse --disable-bindlocal --disable-unix-sockets --disable-sha512-256 \
        --disable-libcurl-option --enable-threaded-resolver \
        --without-zlib --without-brotli --without-zstd --without-libpsl --without-libidn2 \
        --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
        --without-openssl-quic --without-libssh2 --without-libssh --without-wolfssh \
        --without-librtmp --without-libgsasl --without-gssapi --without-libuv \
        CFLAGS="$CFLAGS_DEPS" LIBS="-lpthread" &&
        make -j"$JOBS" -C lib && make -C lib install && make -C include install) ||
        die "curl build failed"
    grep -q '^#define CURL_DISABLE_PROXY' "$src/lib/curl_config.h" && die "curl: proxy support is off"
    licence "$src" curl COPYING
}

build_libpq() {
    local src="$1"
    (cd "$src" && ./configure $(autoconf_host) --prefix="$PREFIX" --with-ssl=openssl \
        --without-gssapi --without-ldap --without-readline --without-icu --without-zlib \
        --without-lz4 --without-zstd --without-libxml --without-libxslt --without-llvm \
        --without-perl --without-python --without-tcl --without-pam --without-bsd-auth \
        --without-systemd --without-selinux --disable-nls --disable-rpath \
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
    licence "$src" postgresql-17 COPYRIGHT
    local a
    for a in libpq.a libpgcommon_shlib.a libpgport_shlib.a; do
        notices postgresql-17 "$PREFIX/lib/$a" "$src/src"
    done
    grep -q 'port/snprintf.c' "$PREFIX/share/licenses/postgresql-17/NOTICES" ||
        die "postgresql-17: src/port/snprintf.c's notice is missing from NOTICES"
}

build_mariadb() {
    local src="$1/libmariadb"
    cmake -S "$src" -B "$src/build" $(cmake_cross) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DWITH_SSL=OPENSSL \
        -DOPENSSL_INCLUDE_DIR="$PREFIX/include" -DOPENSSL_SSL_LIBRARY="$PREFIX/lib/libssl.a" \
        -DOPENSSL_CRYPTO_LIBRARY="$PREFIX/lib/libcrypto.a" -DOPENSSL_USE_STATIC_LIBS=ON \
        -DWITH_EXTERNAL_ZLIB=OFF -DWITH_CURL=OFF -DWITH_UNIT_TESTS=OFF -DWITH_DYNCOL=OFF \
        -DWITH_ICONV=OFF -DWITH_MYSQLCOMPAT=OFF -DWITH_DOCS=OFF \
        -DCLIENT_PLUGIN_CACHING_SHA2_PASSWORD=STATIC -DCLIENT_PLUGIN_CLIENT_ED25519=STATIC \
        -DCLIENT_PLUGIN_SHA256_PASSWORD=STATIC -DCLIENT_PLUGIN_DIALOG=OFF \
        -DCLIENT_PLUGIN_MYSQL_CLEAR_PASSWORD=OFF -DCLIENT_PLUGIN_MYSQL_OLD_PASSWORD=OFF \
        -DCLIENT_PLUGIN_AUTH_GSSAPI_CLIENT=OFF -DCLIENT_PLUGIN_REMOTE_IO=OFF \
        -DCLIENT_PLUGIN_PARSEC=OFF -DCLIENT_PLUGIN_ZSTD=OFF -DCLIENT_PLUGIN_REPLICATION=OFF ||
        die "mariadb (libmariadb) configure failed"
    cmake --build "$src/build" -j"$JOBS" --target mariadbclient || die "libmariadb build failed"
    # Installed by hand: its install rules also want the shared library, which is not built.
    mkdir -p "$PREFIX/lib" "$PREFIX/include/mariadb/mysql" "$PREFIX/include/mariadb/mariadb"
    cp "$src/build/libmariadb/libmariadbclient.a" "$PREFIX/lib/"
    cp "$src/build/include/mariadb_version.h" "$src"/include/{mariadb_com.h,mysql.h,mariadb_stmt.h} \
        "$src"/include/{ma_pvio.h,ma_tls.h,ma_list.h,errmsg.h,mariadb_dyncol.h,mariadb_ctype.h} \
        "$src"/include/{mariadb_rpl.h,mysqld_error.h} "$PREFIX/include/mariadb/"
    cp "$src"/include/mysql/{client_plugin.h,plugin_auth.h} "$PREFIX/include/mariadb/mysql/"
    cp "$src/include/mariadb/ma_io.h" "$PREFIX/include/mariadb/mariadb/"
    licence "$src" mariadb COPYING.LIB
    cp "$src/external/zlib/LICENSE" "$PREFIX/share/licenses/mariadb/zlib-LICENSE"
    notices mariadb "$PREFIX/lib/libmariadbclient.a" "$src"
    grep -q 'ma_dtoa.c' "$PREFIX/share/licenses/mariadb/NOTICES" ||
        die "mariadb: libmariadb/ma_dtoa.c's notice is missing from NOTICES"
}

build_expat() {
    local src="$1/expat"
    # arc4random_buf / arc4random are glibc 2.36: off, so expat seeds from getrandom (2.25).
    cmake -S "$src" -B "$src/build" $(cmake_cross) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_TOOLS=OFF \
        -DEXPAT_BUILD_EXAMPLES=OFF -DEXPAT_BUILD_TESTS=OFF -DEXPAT_BUILD_DOCS=OFF \
        -DEXPAT_BUILD_PKGCONFIG=OFF -DEXPAT_WITH_LIBBSD=OFF -DEXPAT_DTD=ON -DEXPAT_GE=ON \
        -DHAVE_ARC4RANDOM_BUF=OFF -DHAVE_ARC4RANDOM=OFF || die "expat configure failed"
    # Debian's security backports guard their fixes with `#if XML_DTD == 1` / `#if XML_GE == 1`,
    # as autotools (Debian's own build) defines them; expat's CMake template writes an empty
    # `#define XML_DTD`. Both are set to 1 here, and the package tests prove the protections
    # they guard are compiled in (XML_GetFeatureList, an amplification attack refused).
    sed -i 's/^#define XML_DTD$/#define XML_DTD 1/; s/^#define XML_NS$/#define XML_NS 1/' \
        "$src/build/expat_config.h"
    grep -q '^#define XML_DTD 1$' "$src/build/expat_config.h" || die "expat: XML_DTD is not 1"
    grep -q '^#define XML_GE 1$' "$src/build/expat_config.h" || die "expat: XML_GE is not 1"
    ! grep -q '^#define HAVE_ARC4RANDOM' "$src/build/expat_config.h" || die "expat: arc4random is on"
    (cmake --build "$src/build" -j"$JOBS" && cmake --install "$src/build") || die "expat build failed"
    licence "$src" expat COPYING
}

build_cjson() {
    local src="$1"
    cmake -S "$src" -B "$src/build" $(cmake_cross) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_C_FLAGS="$CFLAGS_DEPS" \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DBUILD_SHARED_LIBS=OFF \
        -DBUILD_SHARED_AND_STATIC_LIBS=OFF -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
        -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_TARGET_EXPORT=OFF || die "cjson configure failed"
    (cmake --build "$src/build" -j"$JOBS" && cmake --install "$src/build") || die "cjson build failed"
    licence "$src" cjson LICENSE
}
