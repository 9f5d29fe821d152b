/*
 * probe_bootstrap: a stand-in for bootstrap that links every static dependency of the package
 * (libcurl, OpenSSL, cJSON, libpq, MariaDB Connector/C, expat) and calls into each, so the
 * packaging checks prove each library self-contained (only glibc needed, no symbol newer than
 * GLIBC_2.34) even before bootstrap uses it. `--version` prints the versions it linked.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <expat.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[1], "--version") != 0) {
        fprintf(stderr, "usage: probe_bootstrap --version\n");
        return 2;
    }
    printf("probe libpq=%d mariadb=%lu cjson=%s curl=%s openssl=%s expat=%s\n", PQlibVersion(),
           mysql_get_client_version(), cJSON_Version(), curl_version_info(CURLVERSION_NOW)->version,
           OpenSSL_version(OPENSSL_VERSION), XML_ExpatVersion());
    return 0;
}
