/* SPDX-License-Identifier: MIT */
/*
 * CHAP for iSCSI (RFC 7143 section 12.1.3, RFC 1994): algorithms MD5 (5),
 * SHA-1 (6), SHA-256 (7) and SHA3-256 (8), hashes from OpenSSL's libcrypto.
 * Binary values are encoded as 0x-hex on send and accepted as hex (0x/0X)
 * or base64 (0b/0B) on receipt.
 *
 * Secrets are borrowed, never copied into the context and never logged;
 * buffers that held a secret-derived value are wiped with
 * OPENSSL_cleanse().
 */
#ifndef MCSI_PROTO_CHAP_H
#define MCSI_PROTO_CHAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum chap_alg {
	CHAP_MD5 = 5, CHAP_SHA1 = 6, CHAP_SHA256 = 7, CHAP_SHA3_256 = 8,
};

#define CHAP_MAX_DIGEST     32u     /* SHA-256 / SHA3-256 */
#define CHAP_CHALLENGE_LEN  32u     /* what we send in mutual CHAP */
#define CHAP_MAX_CHALLENGE  1024u   /* what we accept from a target */
#define CHAP_MAX_NAME       256u
#define CHAP_MIN_SECRET     1u
#define CHAP_MAX_SECRET     256u

/* Our offer, strongest first: SHA3-256, SHA-256, SHA-1, MD5. */
extern const enum chap_alg chap_offer_order[4];

/* Writes the CHAP_A offer value ("8,7,6,5") into buf. Returns 0/-ENOSPC. */
int chap_format_offer(char *buf, size_t cap);
/* Parses the target's CHAP_A answer; it must be one value we offered.
 * Returns 0 and *alg, or -EPROTO. */
int chap_parse_alg(const char *v, size_t len, enum chap_alg *alg);
size_t chap_digest_len(enum chap_alg alg);
const char *chap_alg_name(enum chap_alg alg);

/* Decodes a CHAP binary value (0x hex or 0b base64) into out. Returns the
 * number of bytes, or -EPROTO (malformed), -ENOSPC (longer than cap). */
int chap_decode(const char *v, size_t len, uint8_t *out, size_t cap);
/* Encodes bytes as "0x..." hex, NUL-terminated. Returns 0 or -ENOSPC. */
int chap_encode_hex(const uint8_t *in, size_t len, char *out, size_t cap);

/* Response = H(id || secret || challenge). Returns 0, -EINVAL (bad
 * algorithm, empty secret or challenge) or -EIO (libcrypto failure). */
int chap_response(enum chap_alg alg, uint8_t id, const char *secret,
		  size_t secret_len, const uint8_t *challenge,
		  size_t challenge_len, uint8_t out[CHAP_MAX_DIGEST]);

/* Verifies a target's response to our challenge in constant time.
 * Returns 0 when it matches, -EACCES when it does not, -EPROTO when its
 * length is wrong. */
int chap_verify(enum chap_alg alg, uint8_t id, const char *secret,
		size_t secret_len, const uint8_t *challenge,
		size_t challenge_len, const uint8_t *response, size_t response_len);

/* Fills a random challenge and identifier for mutual CHAP (RAND_bytes).
 * Returns 0 or -EIO. */
int chap_make_challenge(uint8_t *challenge, size_t len, uint8_t *id);

#endif
