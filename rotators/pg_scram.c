#include "pg_scram.h"

#include "mem.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define KEY_LEN 32 /* SHA-256 */
#define SALT_MAX 64

bool rot_pg_scram_plain(const char *password) {
    if (password == NULL || password[0] == '\0') {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)password; *p != '\0'; p++) {
        if (*p < 0x20 || *p > 0x7E) {
            return false;
        }
    }
    return true;
}

/* base64 of len bytes into out (4 * ceil(len / 3) + 1 bytes). */
static void b64(const unsigned char *in, size_t len, char *out) {
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int rot_pg_scram_verifier(const char *password, const unsigned char *salt, size_t salt_len,
                          int iterations, char *out, size_t cap) {
    int result = -1;
    unsigned char salted[KEY_LEN], client_key[KEY_LEN], stored_key[KEY_LEN], server_key[KEY_LEN];
    char salt64[(SALT_MAX + 2) / 3 * 4 + 1], stored64[(KEY_LEN + 2) / 3 * 4 + 1],
        server64[(KEY_LEN + 2) / 3 * 4 + 1];
    unsigned int n = 0;

    if (out == NULL || cap == 0) {
        return -1;
    }
    out[0] = '\0';
    if (!rot_pg_scram_plain(password) || salt == NULL || salt_len == 0 || salt_len > SALT_MAX ||
        iterations < 1) {
        goto out;
    }
    /* SaltedPassword = Hi(password, salt, i); ClientKey = HMAC(SaltedPassword, "Client Key");
     * StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword, "Server Key"). */
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, iterations,
                          EVP_sha256(), KEY_LEN, salted) != 1 ||
        HMAC(EVP_sha256(), salted, KEY_LEN, (const unsigned char *)"Client Key", 10, client_key,
             &n) == NULL ||
        n != KEY_LEN || EVP_Digest(client_key, KEY_LEN, stored_key, &n, EVP_sha256(), NULL) != 1 ||
        n != KEY_LEN ||
        HMAC(EVP_sha256(), salted, KEY_LEN, (const unsigned char *)"Server Key", 10, server_key,
             &n) == NULL ||
        n != KEY_LEN) {
        goto out;
    }
    b64(salt, salt_len, salt64);
    b64(stored_key, KEY_LEN, stored64);
    b64(server_key, KEY_LEN, server64);
    int len =
        snprintf(out, cap, "SCRAM-SHA-256$%d:%s$%s:%s", iterations, salt64, stored64, server64);
    if (len < 0 || (size_t)len >= cap) {
        sm_wipe(out, cap);
        out[0] = '\0';
        goto out;
    }
    result = 0;
out:
    sm_wipe(salted, sizeof(salted));
    sm_wipe(client_key, sizeof(client_key));
    sm_wipe(stored_key, sizeof(stored_key));
    sm_wipe(server_key, sizeof(server_key));
    sm_wipe(stored64, sizeof(stored64));
    sm_wipe(server64, sizeof(server64));
    return result;
}
