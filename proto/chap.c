/* SPDX-License-Identifier: MIT */
#include "proto/chap.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "proto/text.h"

const enum chap_alg chap_offer_order[CHAP_NUM_ALGS] = {
	CHAP_SHA3_256, CHAP_SHA256, CHAP_SHA1, CHAP_MD5,
};

static const EVP_MD *chap_md(enum chap_alg alg)
{
	switch (alg) {
	case CHAP_MD5:      return EVP_md5();
	case CHAP_SHA1:     return EVP_sha1();
	case CHAP_SHA256:   return EVP_sha256();
	case CHAP_SHA3_256: return EVP_sha3_256();
	}
	return NULL;
}

size_t chap_digest_len(enum chap_alg alg)
{
	switch (alg) {
	case CHAP_MD5:      return 16;
	case CHAP_SHA1:     return 20;
	case CHAP_SHA256:   return 32;
	case CHAP_SHA3_256: return 32;
	}
	return 0;
}

const char *chap_alg_name(enum chap_alg alg)
{
	switch (alg) {
	case CHAP_MD5:      return "MD5";
	case CHAP_SHA1:     return "SHA1";
	case CHAP_SHA256:   return "SHA256";
	case CHAP_SHA3_256: return "SHA3-256";
	}
	return "unknown";
}

int chap_format_offer(char *buf, size_t cap)
{
	/* Every value is one digit: "d,d,d,d" is 2n-1 characters. */
	if (cap < 2 * CHAP_NUM_ALGS)
		return -ENOSPC;
	size_t n = 0;
	for (unsigned i = 0; i < CHAP_NUM_ALGS; i++) {
		if (i)
			buf[n++] = ',';
		buf[n++] = (char)('0' + (int)chap_offer_order[i]);
	}
	buf[n] = '\0';
	return 0;
}

int chap_parse_alg(const char *v, size_t len, enum chap_alg *alg)
{
	/* Our values are one digit; anything longer (a list, "Reject",
	 * leading zeros, hex) is not an answer to our offer. */
	if (len != 1 || v[0] < '0' || v[0] > '9')
		return -EPROTO;
	int val = v[0] - '0';
	for (unsigned i = 0; i < CHAP_NUM_ALGS; i++) {
		if ((int)chap_offer_order[i] == val) {
			*alg = chap_offer_order[i];
			return 0;
		}
	}
	return -EPROTO;
}

/* ---- binary values ------------------------------------------------------ */

static int chap_b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int chap_decode_hex(const char *d, size_t n, uint8_t *out, size_t cap)
{
	size_t bytes = n / 2 + (n & 1);

	if (bytes > cap || bytes > INT_MAX)
		return -ENOSPC;
	/* An odd digit count means an implied leading zero nibble, so the
	 * first byte takes a single digit. */
	size_t i = 0, o = 0;
	if (n & 1) {
		int lo = text_hex_digit(d[i++]);
		if (lo < 0)
			return -EPROTO;
		out[o++] = (uint8_t)lo;
	}
	while (i < n) {
		int hi = text_hex_digit(d[i]), lo = text_hex_digit(d[i + 1]);
		if (hi < 0 || lo < 0)
			return -EPROTO;
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return (int)bytes;
}

static int chap_decode_b64(const char *d, size_t n, uint8_t *out, size_t cap)
{
	size_t pad = 0;
	while (pad < n && d[n - 1 - pad] == '=')
		pad++;
	size_t m = n - pad;                      /* data characters */
	if (pad > 2 || (pad && n % 4) || m == 0 || m % 4 == 1)
		return -EPROTO;
	/* Unpadded input must still end on a valid quantum boundary:
	 * m % 4 == 2 gives one byte, 3 gives two. */
	if (pad && (4 - m % 4) % 4 != pad)
		return -EPROTO;
	size_t bytes = m / 4 * 3 + (m % 4 ? m % 4 - 1 : 0);
	if (bytes > cap || bytes > INT_MAX)
		return -ENOSPC;

	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < m; i++) {
		int v = chap_b64val(d[i]);
		if (v < 0)
			return -EPROTO;
		acc = (acc << 6 | (uint32_t)v) & 0xffffffu;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits (2 or 4) must be zero: a canonical encoding has only
	 * one spelling, so a value cannot be smuggled past a comparison. */
	if (acc & ((1u << bits) - 1))
		return -EPROTO;
	return (int)bytes;
}

int chap_decode(const char *v, size_t len, uint8_t *out, size_t cap)
{
	if (len < 3 || v[0] != '0')
		return -EPROTO;
	if (v[1] == 'x' || v[1] == 'X')
		return chap_decode_hex(v + 2, len - 2, out, cap);
	if (v[1] == 'b' || v[1] == 'B')
		return chap_decode_b64(v + 2, len - 2, out, cap);
	return -EPROTO;
}

int chap_encode_hex(const uint8_t *in, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";

	if (len == 0)
		return -EINVAL;
	if (cap < 3 || len > (cap - 3) / 2)
		return -ENOSPC;
	out[0] = '0';
	out[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		out[2 + 2 * i] = digits[in[i] >> 4];
		out[3 + 2 * i] = digits[in[i] & 0x0f];
	}
	out[2 + 2 * len] = '\0';
	return 0;
}

/* ---- response and verification ----------------------------------------- */

int chap_response(enum chap_alg alg, uint8_t id, const char *secret,
		  size_t secret_len, const uint8_t *challenge,
		  size_t challenge_len, uint8_t out[CHAP_MAX_DIGEST])
{
	const EVP_MD *md = chap_md(alg);
	size_t dlen = chap_digest_len(alg);

	memset(out, 0, CHAP_MAX_DIGEST);
	if (!md || !secret || secret_len < CHAP_MIN_SECRET ||
	    secret_len > CHAP_MAX_SECRET || !challenge || challenge_len == 0 ||
	    challenge_len > CHAP_MAX_CHALLENGE)
		return -EINVAL;

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		 EVP_DigestUpdate(ctx, &id, 1) == 1 &&
		 EVP_DigestUpdate(ctx, secret, secret_len) == 1 &&
		 EVP_DigestUpdate(ctx, challenge, challenge_len) == 1 &&
		 EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == dlen;
	/* EVP_MD_CTX_free() cleanses the context, which held the secret. */
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(out, CHAP_MAX_DIGEST);
		return -EIO;
	}
	return 0;
}

int chap_verify(enum chap_alg alg, uint8_t id, const char *secret,
		size_t secret_len, const uint8_t *challenge,
		size_t challenge_len, const uint8_t *response, size_t response_len)
{
	uint8_t expect[CHAP_MAX_DIGEST];
	size_t dlen = chap_digest_len(alg);

	if (dlen == 0)
		return -EINVAL;
	if (response_len != dlen)
		return -EPROTO;
	int rc = chap_response(alg, id, secret, secret_len, challenge,
			       challenge_len, expect);
	if (rc == 0 && CRYPTO_memcmp(expect, response, dlen) != 0)
		rc = -EACCES;
	OPENSSL_cleanse(expect, sizeof(expect));
	return rc;
}

int chap_make_challenge(uint8_t *challenge, size_t len, uint8_t *id)
{
	if (len == 0 || len > CHAP_MAX_CHALLENGE)
		return -EINVAL;
	if (RAND_bytes(challenge, (int)len) != 1 || RAND_bytes(id, 1) != 1)
		return -EIO;
	return 0;
}
