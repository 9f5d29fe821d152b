/* Unit tests of rotators/pg_scram.c: the SCRAM-SHA-256 verifier checked against RFC 7677's
 * exchange (the keys must reproduce its ServerSignature and ClientProof) and, byte for byte,
 * against libpq's PQencryptPasswordConn for the same salt. No server. */
#include "harness.h"
#include "pg_scram.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

/* Decodes base64 text of a 32-byte value. */
static void unb64_32(const char *text, size_t len, unsigned char out[32]) {
    unsigned char tmp[48];
    SM_ASSERT(len == 44);
    SM_ASSERT_INT_EQ(EVP_DecodeBlock(tmp, (const unsigned char *)text, (int)len), 33);
    memcpy(out, tmp, 32);
}

/* Splits "SCRAM-SHA-256$i:salt$stored:server" into its base64 parts (pointers into v). */
static void split(const char *v, const char **salt, size_t *salt_len, const char **stored,
                  const char **server) {
    const char *colon1 = strchr(v, ':');
    const char *dollar2 = colon1 != NULL ? strchr(colon1, '$') : NULL;
    const char *colon2 = dollar2 != NULL ? strchr(dollar2, ':') : NULL;
    SM_ASSERT(strncmp(v, "SCRAM-SHA-256$", 14) == 0 && colon1 && dollar2 && colon2);
    *salt = colon1 + 1;
    *salt_len = (size_t)(dollar2 - *salt);
    *stored = dollar2 + 1;
    *server = colon2 + 1;
}

SM_TEST(pg_scram_verifier_reproduces_rfc7677_exchange) {
    /* RFC 7677 section 3: user "user", password "pencil". */
    static const char auth_message[] =
        "n=user,r=rOprNGfwEbeRWgbNEkqO,"
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    unsigned char salt[18], stored[32], server[32], sig[32], proof[32], client_key[32], h[32];
    unsigned int n = 0;
    SM_ASSERT_INT_EQ(EVP_DecodeBlock(salt, (const unsigned char *)"W22ZaJ0SNY7soEsUEjb6gQ==", 24),
                     18);
    char v[ROT_PG_SCRAM_VERIFIER_MAX];
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("pencil", salt, 16, 4096, v, sizeof(v)), 0);
    SM_ASSERT(strncmp(v, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$", 44) == 0);
    const char *s64, *stored64, *server64;
    size_t s_len;
    split(v, &s64, &s_len, &stored64, &server64);
    unb64_32(stored64, (size_t)(server64 - 1 - stored64), stored);
    unb64_32(server64, strlen(server64), server);

    /* ServerSignature = HMAC(ServerKey, AuthMessage): the server-final "v=" of the RFC. */
    HMAC(EVP_sha256(), server, 32, (const unsigned char *)auth_message, strlen(auth_message), sig,
         &n);
    char sig64[45];
    EVP_EncodeBlock((unsigned char *)sig64, sig, 32);
    SM_ASSERT_STR_EQ(sig64, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");

    /* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) = StoredKey. */
    unb64_32("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 44, proof);
    HMAC(EVP_sha256(), stored, 32, (const unsigned char *)auth_message, strlen(auth_message), sig,
         &n);
    for (int i = 0; i < 32; i++) {
        client_key[i] = proof[i] ^ sig[i];
    }
    EVP_Digest(client_key, 32, h, &n, EVP_sha256(), NULL);
    SM_ASSERT(memcmp(h, stored, 32) == 0);
}

SM_TEST(pg_scram_verifier_matches_libpq_for_the_same_salt) {
    /* PQencryptPasswordConn only needs a PGconn for its error buffer: a failed one will do. */
    PGconn *conn = PQconnectdb("service=smrotate-no-such-service");
    SM_ASSERT(conn != NULL);
    static const char *const passwords[] = {
        "pencil", "a b", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "Aa0-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789-tail", " "};
    for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
        char *theirs = PQencryptPasswordConn(conn, passwords[i], "user", "scram-sha-256");
        SM_ASSERT(theirs != NULL);
        const char *s64, *stored64, *server64;
        size_t s_len;
        split(theirs, &s64, &s_len, &stored64, &server64);
        unsigned char salt[64];
        char salt_text[64];
        SM_ASSERT(s_len == 24);
        memcpy(salt_text, s64, s_len);
        salt_text[s_len] = '\0';
        SM_ASSERT_INT_EQ(EVP_DecodeBlock(salt, (const unsigned char *)salt_text, 24), 18);
        char mine[ROT_PG_SCRAM_VERIFIER_MAX];
        SM_ASSERT_INT_EQ(rot_pg_scram_verifier(passwords[i], salt, ROT_PG_SCRAM_SALT_LEN,
                                               ROT_PG_SCRAM_ITERATIONS, mine, sizeof(mine)),
                         0);
        SM_ASSERT_STR_EQ(mine, theirs);
        PQfreemem(theirs);
    }
    PQfinish(conn);
}

SM_TEST(pg_scram_plain_only_for_printable_ascii) {
    SM_ASSERT(rot_pg_scram_plain("Abc-123 ~"));
    SM_ASSERT(!rot_pg_scram_plain(""));
    SM_ASSERT(!rot_pg_scram_plain(NULL));
    SM_ASSERT(!rot_pg_scram_plain("tab\there"));
    SM_ASSERT(!rot_pg_scram_plain("del\x7f"));
    SM_ASSERT(!rot_pg_scram_plain("p\xc3\xa4ss")); /* UTF-8: SASLprep may change it */
}

SM_TEST(pg_scram_verifier_refuses_bad_input_and_small_buffer) {
    unsigned char salt[16] = {1, 2, 3};
    char out[ROT_PG_SCRAM_VERIFIER_MAX];
    char tiny[40];
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("p\xc3\xa4ss", salt, 16, 4096, out, sizeof(out)), -1);
    SM_ASSERT_STR_EQ(out, "");
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("pw", salt, 0, 4096, out, sizeof(out)), -1);
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("pw", salt, 16, 0, out, sizeof(out)), -1);
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("pw", salt, 16, 4096, tiny, sizeof(tiny)), -1);
    SM_ASSERT_STR_EQ(tiny, "");
    SM_ASSERT_INT_EQ(rot_pg_scram_verifier("pw", salt, 16, 4096, out, sizeof(out)), 0);
}
