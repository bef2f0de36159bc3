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

#define CHAP_NUM_ALGS       4u

/* Our full offer, strongest first: SHA3-256, SHA-256, SHA-1, MD5. A
 * constant table: policy that narrows it lives with the caller (neg). */
extern const enum chap_alg chap_offer_order[CHAP_NUM_ALGS];

/* Writes the CHAP_A offer value of chap_offer_order ("8,7,6,5") into buf,
 * NUL-terminated. Returns 0 or -ENOSPC (cap < 8). */
int chap_format_offer(char *buf, size_t cap);
/* Parses the target's CHAP_A answer (len bytes, need not be
 * NUL-terminated): exactly one decimal value that chap_offer_order
 * contains. A list, "Reject", hex, a sign or an algorithm we did not
 * offer give -EPROTO. Returns 0 and *alg. */
int chap_parse_alg(const char *v, size_t len, enum chap_alg *alg);
/* Digest length in bytes (16, 20, 32, 32), 0 for an unknown value. */
size_t chap_digest_len(enum chap_alg alg);
/* Static name ("MD5", "SHA1", "SHA256", "SHA3-256"), "unknown" otherwise. */
const char *chap_alg_name(enum chap_alg alg);

/* Decodes a CHAP binary value (RFC 7143 section 6.1): "0x"/"0X" followed
 * by hex digits (an odd count implies a leading zero nibble: n digits give
 * (n+1)/2 bytes) or "0b"/"0B" followed by RFC 4648 base64 (padding
 * optional, but when present the length must be a multiple of 4; unused
 * trailing bits must be zero). Returns the number of bytes written to out
 * (at least 1), -EPROTO (no prefix, empty value, a character outside the
 * alphabet, misplaced padding) or -ENOSPC (longer than cap); out may hold
 * partial output after an error. */
int chap_decode(const char *v, size_t len, uint8_t *out, size_t cap);
/* Encodes len >= 1 bytes as "0x" + lowercase hex, NUL-terminated (needs
 * cap >= 2 * len + 3). Returns 0, -EINVAL (len 0) or -ENOSPC. */
int chap_encode_hex(const uint8_t *in, size_t len, char *out, size_t cap);

/* Response = H(id || secret || challenge), written to out[0..digest_len)
 * and the rest of out zeroed. Returns 0, -EINVAL (unknown algorithm,
 * secret empty or over CHAP_MAX_SECRET, challenge empty or over
 * CHAP_MAX_CHALLENGE) or -EIO (libcrypto failure, e.g. MD5 refused by a
 * FIPS provider); out is wiped on error. */
int chap_response(enum chap_alg alg, uint8_t id, const char *secret,
		  size_t secret_len, const uint8_t *challenge,
		  size_t challenge_len, uint8_t out[CHAP_MAX_DIGEST]);

/* Verifies a target's response to our challenge in constant time.
 * Returns 0 when it matches, -EACCES when it does not, -EPROTO when its
 * length is not the algorithm's digest length, or chap_response()'s
 * -EINVAL / -EIO. */
int chap_verify(enum chap_alg alg, uint8_t id, const char *secret,
		size_t secret_len, const uint8_t *challenge,
		size_t challenge_len, const uint8_t *response, size_t response_len);

/* Fills a random challenge of len bytes (1..CHAP_MAX_CHALLENGE) and an
 * identifier for mutual CHAP (RAND_bytes). Returns 0, -EINVAL (len out of
 * range) or -EIO (no randomness available). */
int chap_make_challenge(uint8_t *challenge, size_t len, uint8_t *id);

#endif
