/*
 * probe_bootstrap: a stand-in for bootstrap that links every static dependency of the package
 * (libcurl, OpenSSL, cJSON, libpq, MariaDB Connector/C, expat) and calls into each, so the
 * packaging checks prove each library self-contained (only glibc needed, no symbol newer than
 * GLIBC_2.34) even before bootstrap uses it.
 *   --version  prints the versions it linked
 *   --expat    prints expat's compile-time features (XML_GetFeatureList) and parses a
 *              "billion laughs" document: the protections Debian's fixes guard with XML_DTD and
 *              XML_GE must be compiled in, and the parse must stop with
 *              XML_ERROR_AMPLIFICATION_LIMIT_BREACH
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <expat.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <openssl/crypto.h>

#include <stdio.h>
#include <string.h>

/* Ten levels of ten references each: 10^10 expansions of "lol" without a limit. */
static const char s_laughs[] =
    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
    "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
    "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
    "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
    "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
    "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
    "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
    "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
    "]><lolz>&lol9;</lolz>";

static int expat_check(void) {
    for (const XML_Feature *f = XML_GetFeatureList(); f->feature != XML_FEATURE_END; f++) {
        printf("feature %s %ld\n", f->name, f->value);
    }
    XML_Parser p = XML_ParserCreate(NULL);
    if (p == NULL) {
        return 1;
    }
    enum XML_Status st = XML_Parse(p, s_laughs, (int)strlen(s_laughs), 1);
    printf("billion laughs: status %d, error %d (%s)\n", (int)st, (int)XML_GetErrorCode(p),
           XML_ErrorString(XML_GetErrorCode(p)));
    XML_ParserFree(p);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--expat") == 0) {
        return expat_check();
    }
    if (argc != 2 || strcmp(argv[1], "--version") != 0) {
        fprintf(stderr, "usage: probe_bootstrap --version | --expat\n");
        return 2;
    }
    printf("probe libpq=%d mariadb=%lu cjson=%s curl=%s openssl=%s expat=%s\n", PQlibVersion(),
           mysql_get_client_version(), cJSON_Version(), curl_version_info(CURLVERSION_NOW)->version,
           OpenSSL_version(OPENSSL_VERSION), XML_ExpatVersion());
    return 0;
}
