/*
 * probe_bootstrap: a stand-in for bootstrap that links every library the real one links (libcurl,
 * OpenSSL, cJSON, libpq, MariaDB Connector/C) and calls into each, so the packaging checks cover
 * the full set even while bootstrap itself does not use all of them yet (the linker drops unused
 * libraries with --as-needed). `--version` prints the versions of the libraries it loaded.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
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
    printf("probe libpq=%d mariadb=%lu cjson=%s curl=%s openssl=%s\n", PQlibVersion(),
           mysql_get_client_version(), cJSON_Version(), curl_version_info(CURLVERSION_NOW)->version,
           OpenSSL_version(OPENSSL_VERSION));
    return 0;
}
