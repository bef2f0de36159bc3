/* SPDX-License-Identifier: MIT */
/*
 * CHAP: known-answer vectors for the four algorithms (expected digests
 * computed independently with python3 hashlib and `openssl dgst` when the
 * test was written), a real exchange captured from istgt 0.4 against
 * libiscsi 1.19, binary value encodings both ways, verification, the
 * CHAP_A offer and answer, and challenge generation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/chap.h"
#include "pdu_hex.h"

#define S(s) s, sizeof(s) - 1

/* istgt's CHAP_C (1024 bytes, CHAP_I=139) from a login by iscsi-inq with
 * secret "secretsecret12"; libiscsi answered CHAP_R=0xDAF0EC36...6CEA. */
static const char istgt_chap_c[] =
	"0x"
	"C260AF8685A577486A2544C49AA7E07C24A0907709F3836FC6BA98A1B1D57C33"
	"2F73F9D40782037786D3B150BEF478DAFB6638F701C96BCD720F1686850EA1A4"
	"359144AC014AB65DB94CCCA34C4F998AFE3CA3885E11EB3CDB735AF8C7943B2E"
	"397B5380D7C500668A82EF8BC2163D36AF52B5B3644E793F8DE83B3292FA8D45"
	"E23E6924693127E63131416AACA295757E0FA4B5A5EF5781A3F515B7C5FA40D2"
	"22A614D341869821B92076903196FA3049E33116790BA34E432B46F545EAF35C"
	"F199F5954C81CD4C3DCA32FC4AB700795214C1B64AFD0628C0C8B169AA38339C"
	"C3CD5992BBBCD805D78A918414E66ECD32B61E2FD89AD0496D2FC83A7024A20F"
	"8C600F837B98BEF2B62AD55A852371FCF8A8ECEF49B26933C59DC2DF777035E5"
	"C935B91CAB0A72349AD2CAA5B42981169CFF6F57E9309E933696164150B3791C"
	"156A37A0237C34FA746BCB5517EDD2A5246DD17CDDB5077C40059527633D1D1D"
	"F29D97B711861C93EA69F32CA58C4B043400BB4024E5C89D1232975CC7FE9150"
	"A591082D976D8C1211A3A3E4E77EE53E1FEBA0542B97CC55EE85F8FD4B5949BB"
	"6791BF3FA7A27F50F0003EC978BAB92A1C28A1C63DBB5F2AE03927A72461D8FE"
	"47D08D30FE86F6ADDBF4E8A2FDEA8FCA0EBE3065D98B9CA51F7B34142107E686"
	"6B8F32C9E0DA8EF418B58D7EC85E57A3285E27657D84BEB8E822382327AF6541"
	"86E7C8B58B50B11F760EE2AFB288B1A469E5D776D3ABCF1E0CF45EF8012849EA"
	"58E4699221C108360B02CD7A7A816E773BF6B6E1C5C881E128F6DEC4121DB147"
	"EF92C57E165845241E638B556C1F060BA49C10F460BE8713FDA19D276927AC66"
	"CFBA1C06FB22A727AB2DC0519A99AB97015B009A267EF1716EE4F358AED5F1D5"
	"BE1091B96684DDF3957A0C16C31558A71AD46163C51EDDEDE8FB39AFFDB1AE6B"
	"0F74CC37BE33660E88431BBFB76DC92E17497975D6D3C98BEB14C01E43DD63E5"
	"AD5EAE5D7BC113971A057E52AFCE3A8DE10DBE149B7E21ADC015D500969781B7"
	"0FF12F06DA799A36D899B332671AED4A96C9419054172F4A9AB47D97AFCD8498"
	"53E031B1797416AFA2FE4A034796E8E690D036464A577911693AA4AD0EB77132"
	"63C28448C42EA5594EC2D1DFB2D634250B31F15D19F2CBCDDF0CFF9082D66F4D"
	"E309F889F2CFC7D62D57CEDE4E06B038D268A8DB6D5748DB11A11A3034268A78"
	"A127D1E4AE74696B825A8C04C0A58AA8FD74D20E9476D178EEEF5C3B1F67FED4"
	"DFCBA1325B328A807CF263F50F2B6C0948FCAD1ED735FBD92450F90AA1163558"
	"F46683AAD5BB94476040DC62818B9734392D1F17B6C46702A3208EFDFAC56D1D"
	"946221A74C21767A67991D041FA9C332110A0E0A1C0D50AC22ACDB567987C793"
	"4F0B4EB842FD4D49EEAEA5C4045B06A48CB2C5453099EBECD7A29E9BB36EE40E";

/* H(0x2a || "tgt-secret-0123" || 10 11 .. 2f) */
static const uint8_t kat_challenge[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
};
static const struct {
	enum chap_alg alg;
	const char *digest;        /* for kat_challenge */
	const char *digest_min;    /* H(0xff || "k" || 00) */
} kat[] = {
	{ CHAP_MD5, "06b10acf6948635b67adbd13da32161c",
	  "26a14f456955a7a86090ef3dee222036" },
	{ CHAP_SHA1, "411baf7373037e2ab5b986619dafff93608ebf23",
	  "55b76dcbaef37e56767f44a0a821e92ea08be130" },
	{ CHAP_SHA256,
	  "a19beaa07b4fb1f1031653c5c06efbb5c1478de210459240a6aff69c7caacd25",
	  "55ba8ebe5ee0759f41adb67647782f96922bb399b47b80bbc4e730f4eb83a2ee" },
	{ CHAP_SHA3_256,
	  "c4464ec4a27024c915207f72ccce15c08639cf618a20962e40af502947988097",
	  "5de7593d13edf6716b8244abc70024cd95283113f7542997aabb93704a829f1f" },
};

static void test_kat(void **state)
{
	(void)state;
	uint8_t out[CHAP_MAX_DIGEST];
	static const uint8_t zero = 0;

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		size_t dlen = chap_digest_len(kat[i].alg);
		assert_int_equal(chap_response(kat[i].alg, 0x2a,
					       S("tgt-secret-0123"),
					       kat_challenge, sizeof(kat_challenge),
					       out), 0);
		assert_hex(out, kat[i].digest, dlen);
		/* The tail past the digest is zeroed, not left over. */
		for (size_t j = dlen; j < CHAP_MAX_DIGEST; j++)
			assert_int_equal(out[j], 0);
		assert_int_equal(chap_response(kat[i].alg, 0xff, S("k"), &zero,
					       1, out), 0);
		assert_hex(out, kat[i].digest_min, dlen);
	}
}

static void test_istgt_exchange(void **state)
{
	(void)state;
	uint8_t challenge[CHAP_MAX_CHALLENGE], resp[CHAP_MAX_DIGEST];
	uint8_t want[16];

	assert_int_equal(chap_decode(S(istgt_chap_c), challenge,
				     sizeof(challenge)), 1024);
	assert_int_equal(chap_response(CHAP_MD5, 139, S("secretsecret12"),
				       challenge, 1024, resp), 0);
	assert_hex(resp, "daf0ec3692259c63194ff4b17db16cea", 16);
	/* libiscsi's spelling of the response decodes to the same bytes and
	 * verifies. */
	assert_int_equal(chap_decode(S("0xDAF0EC3692259C63194FF4B17DB16CEA"),
				     want, sizeof(want)), 16);
	assert_int_equal(chap_verify(CHAP_MD5, 139, S("secretsecret12"),
				     challenge, 1024, want, 16), 0);
	/* One more byte of challenge than we accept. */
	assert_int_equal(chap_decode(S(istgt_chap_c), challenge, 1023),
			 -ENOSPC);
}

static void test_response_args(void **state)
{
	(void)state;
	uint8_t out[CHAP_MAX_DIGEST], big[CHAP_MAX_CHALLENGE + 1] = { 0 };
	char secret[CHAP_MAX_SECRET + 1];

	memset(secret, 's', sizeof(secret));
	assert_int_equal(chap_response((enum chap_alg)4, 1, S("x"), big, 1, out),
			 -EINVAL);
	assert_int_equal(chap_response((enum chap_alg)9, 1, S("x"), big, 1, out),
			 -EINVAL);
	assert_int_equal(chap_response(CHAP_MD5, 1, "x", 0, big, 1, out),
			 -EINVAL);
	assert_int_equal(chap_response(CHAP_MD5, 1, S("x"), big, 0, out),
			 -EINVAL);
	assert_int_equal(chap_response(CHAP_MD5, 1, S("x"), big,
				       CHAP_MAX_CHALLENGE + 1, out), -EINVAL);
	assert_int_equal(chap_response(CHAP_MD5, 1, secret, CHAP_MAX_SECRET + 1,
				       big, 1, out), -EINVAL);
	assert_int_equal(chap_response(CHAP_MD5, 1, secret, CHAP_MAX_SECRET,
				       big, CHAP_MAX_CHALLENGE, out), 0);
}

static void test_verify(void **state)
{
	(void)state;
	uint8_t good[CHAP_MAX_DIGEST];

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		enum chap_alg alg = kat[i].alg;
		size_t dlen = chap_digest_len(alg);
		hex_decode(kat[i].digest, good, sizeof(good));
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 32, good, dlen), 0);
		/* Any flipped bit, a wrong id, secret or challenge fails. */
		good[dlen - 1] ^= 0x01;
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 32, good, dlen),
				 -EACCES);
		good[dlen - 1] ^= 0x01;
		assert_int_equal(chap_verify(alg, 0x2b, S("tgt-secret-0123"),
					     kat_challenge, 32, good, dlen),
				 -EACCES);
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0124"),
					     kat_challenge, 32, good, dlen),
				 -EACCES);
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 31, good, dlen),
				 -EACCES);
		/* Wrong length: a truncated or padded response is malformed,
		 * not a mismatch. */
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 32, good, dlen - 1),
				 -EPROTO);
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 32, good, dlen + 1),
				 -EPROTO);
		assert_int_equal(chap_verify(alg, 0x2a, S("tgt-secret-0123"),
					     kat_challenge, 32, good, 0),
				 -EPROTO);
	}
	/* An MD5 response presented as SHA-256 is the wrong length. */
	hex_decode(kat[0].digest, good, sizeof(good));
	assert_int_equal(chap_verify(CHAP_SHA256, 0x2a, S("tgt-secret-0123"),
				     kat_challenge, 32, good, 16), -EPROTO);
	assert_int_equal(chap_verify((enum chap_alg)0, 0x2a, S("x"),
				     kat_challenge, 32, good, 16), -EINVAL);
	assert_int_equal(chap_verify(CHAP_MD5, 0x2a, "", 0, kat_challenge, 32,
				     good, 16), -EINVAL);
}

static void test_decode_hex(void **state)
{
	(void)state;
	uint8_t out[64];

	assert_int_equal(chap_decode(S("0x00ff7Ea5"), out, sizeof(out)), 4);
	assert_hex(out, "00ff7ea5", 4);
	assert_int_equal(chap_decode(S("0XABCDEF"), out, sizeof(out)), 3);
	assert_hex(out, "abcdef", 3);
	/* Odd digit count: implied leading zero nibble (RFC 7143 6.1). */
	assert_int_equal(chap_decode(S("0xabc"), out, sizeof(out)), 2);
	assert_hex(out, "0abc", 2);
	assert_int_equal(chap_decode(S("0x1"), out, sizeof(out)), 1);
	assert_hex(out, "01", 1);
	/* Leading zeros are data in a binary value. */
	assert_int_equal(chap_decode(S("0x0000"), out, sizeof(out)), 2);
	assert_hex(out, "0000", 2);
	/* Only len bytes are read: the value need not be NUL-terminated. */
	assert_int_equal(chap_decode("0x1234zz", 6, out, sizeof(out)), 2);
	assert_hex(out, "1234", 2);

	/* Capacity: exactly enough, then one byte short. */
	assert_int_equal(chap_decode(S("0x010203"), out, 3), 3);
	assert_int_equal(chap_decode(S("0x010203"), out, 2), -ENOSPC);
	assert_int_equal(chap_decode(S("0x10203"), out, 2), -ENOSPC);

	/* Malformed. */
	static const char *bad[] = {
		"", "0", "0x", "0X", "x12", "12", "0y12", "00x12", "0x12g4",
		"0x 12", "0x12 ", "0x-1", "0x1.", "0xz", " 0x12", "0x12\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(chap_decode(bad[i], strlen(bad[i]), out,
					     sizeof(out)), -EPROTO);
	/* An embedded NUL inside len is a bad character, not an end. */
	assert_int_equal(chap_decode("0x12\0" "34", 7, out, sizeof(out)),
			 -EPROTO);
}

static void test_decode_base64(void **state)
{
	(void)state;
	uint8_t out[64];

	assert_int_equal(chap_decode(S("0bEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8="),
				     out, sizeof(out)), 32);
	assert_memory_equal(out, kat_challenge, 32);
	assert_int_equal(chap_decode(S("0B+/8="), out, sizeof(out)), 2);
	assert_hex(out, "fbff", 2);
	assert_int_equal(chap_decode(S("0b+/+/"), out, sizeof(out)), 3);
	assert_hex(out, "fbffbf", 3);
	assert_int_equal(chap_decode(S("0bTQ=="), out, sizeof(out)), 1);
	assert_hex(out, "4d", 1);
	assert_int_equal(chap_decode(S("0bTWE="), out, sizeof(out)), 2);
	assert_hex(out, "4d61", 2);
	assert_int_equal(chap_decode(S("0bTWFu"), out, sizeof(out)), 3);
	assert_hex(out, "4d616e", 3);
	/* Padding may be left off. */
	assert_int_equal(chap_decode(S("0bTQ"), out, sizeof(out)), 1);
	assert_hex(out, "4d", 1);
	assert_int_equal(chap_decode(S("0bTWE"), out, sizeof(out)), 2);
	assert_hex(out, "4d61", 2);
	assert_int_equal(chap_decode(S("0bBrEKz2lIY1tnrb0T2jIWHA=="), out,
				     sizeof(out)), 16);
	assert_hex(out, "06b10acf6948635b67adbd13da32161c", 16);

	assert_int_equal(chap_decode(S("0bTWFu"), out, 3), 3);
	assert_int_equal(chap_decode(S("0bTWFu"), out, 2), -ENOSPC);
	assert_int_equal(chap_decode(S("0bTQ=="), out, 0), -ENOSPC);

	static const char *bad[] = {
		"0b", "0b=", "0b==", "0b====", "0bT", "0bT===", "0bTQ=",
		"0bTQ===", "0bTWE==", "0bTWFu=", "0bTW=u", "0b=TWF",
		"0bTWFu====", "0bTW-u", "0bTW_u", "0bTW u", "0bTWFu\n",
		"0bTR==",   /* leftover bits not zero: 'R' = 010001 */
		"0bTWF=",   /* 'F' = 000101: low 2 bits set */
		"0bTWFuT",  /* one character in a quantum is never valid */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = chap_decode(bad[i], strlen(bad[i]), out, sizeof(out));
		if (rc != -EPROTO)
			fail_msg("\"%s\" gave %d", bad[i], rc);
	}
}

static void test_encode_hex(void **state)
{
	(void)state;
	char buf[80];
	uint8_t back[32];

	assert_int_equal(chap_encode_hex((const uint8_t *)"\x00\xab\x0f\xf0",
					 4, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0x00ab0ff0");
	/* 2 + 2n + 1 bytes are needed: exactly that fits, one less not. */
	assert_int_equal(chap_encode_hex(kat_challenge, 4, buf, 11), 0);
	assert_string_equal(buf, "0x10111213");
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(chap_encode_hex(kat_challenge, 4, buf, 10), -ENOSPC);
	assert_int_equal(chap_encode_hex(kat_challenge, 1, buf, 2), -ENOSPC);
	assert_int_equal(chap_encode_hex(kat_challenge, 1, buf, 0), -ENOSPC);
	assert_int_equal(chap_encode_hex(kat_challenge, 0, buf, sizeof(buf)),
			 -EINVAL);
	/* Round trip through the decoder. */
	assert_int_equal(chap_encode_hex(kat_challenge, 32, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 66);
	assert_int_equal(chap_decode(buf, strlen(buf), back, sizeof(back)), 32);
	assert_memory_equal(back, kat_challenge, 32);
}

static void test_offer_and_alg(void **state)
{
	(void)state;
	char buf[16];
	enum chap_alg alg = CHAP_MD5;

	assert_int_equal(chap_format_offer(buf, sizeof(buf)), 0);
	assert_string_equal(buf, "8,7,6,5");
	assert_int_equal(chap_format_offer(buf, 8), 0);
	assert_string_equal(buf, "8,7,6,5");
	assert_int_equal(chap_format_offer(buf, 7), -ENOSPC);

	assert_int_equal(chap_parse_alg(S("8"), &alg), 0);
	assert_int_equal(alg, CHAP_SHA3_256);
	assert_int_equal(chap_parse_alg(S("7"), &alg), 0);
	assert_int_equal(alg, CHAP_SHA256);
	assert_int_equal(chap_parse_alg(S("6"), &alg), 0);
	assert_int_equal(alg, CHAP_SHA1);
	assert_int_equal(chap_parse_alg(S("5"), &alg), 0);
	assert_int_equal(alg, CHAP_MD5);
	/* Only len bytes count. */
	assert_int_equal(chap_parse_alg("75", 1, &alg), 0);
	assert_int_equal(alg, CHAP_SHA256);

	static const char *bad[] = {
		"", "0", "4", "9", "05", "0x5", "+5", "-5", "5,7", "8,7,6,5",
		"Reject", "None", "NotUnderstood", " 5", "5 ", "55", "256",
		"261",  /* 261 & 0xff == 5 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		alg = (enum chap_alg)0;
		if (chap_parse_alg(bad[i], strlen(bad[i]), &alg) != -EPROTO)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(alg, 0);
	}
	assert_int_equal(chap_parse_alg("5\0", 2, &alg), -EPROTO);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(chap_alg_name(CHAP_MD5), "MD5");
	assert_string_equal(chap_alg_name(CHAP_SHA1), "SHA1");
	assert_string_equal(chap_alg_name(CHAP_SHA256), "SHA256");
	assert_string_equal(chap_alg_name(CHAP_SHA3_256), "SHA3-256");
	assert_string_equal(chap_alg_name((enum chap_alg)9), "unknown");
	assert_int_equal(chap_digest_len(CHAP_MD5), 16);
	assert_int_equal(chap_digest_len(CHAP_SHA1), 20);
	assert_int_equal(chap_digest_len(CHAP_SHA256), 32);
	assert_int_equal(chap_digest_len(CHAP_SHA3_256), 32);
	assert_int_equal(chap_digest_len((enum chap_alg)4), 0);
	/* The table and the offer agree, strongest first. */
	assert_int_equal(chap_offer_order[0], CHAP_SHA3_256);
	assert_int_equal(chap_offer_order[CHAP_NUM_ALGS - 1], CHAP_MD5);
}

static void test_make_challenge(void **state)
{
	(void)state;
	uint8_t a[CHAP_CHALLENGE_LEN], b[CHAP_CHALLENGE_LEN];
	uint8_t big[CHAP_MAX_CHALLENGE + 1], id = 0;
	unsigned ids_seen = 0;

	assert_int_equal(chap_make_challenge(a, sizeof(a), &id), 0);
	assert_int_equal(chap_make_challenge(b, sizeof(b), &id), 0);
	/* 2^-256 chance of a false failure. */
	assert_memory_not_equal(a, b, sizeof(a));
	/* The identifier varies too: 64 draws all equal has odds 2^-504. */
	uint8_t first = id;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(chap_make_challenge(a, 1, &id), 0);
		ids_seen += id != first;
	}
	assert_true(ids_seen > 0);
	/* Not all zero: a 1024-byte challenge of zeros has odds 2^-8192. */
	memset(big, 0, sizeof(big));
	assert_int_equal(chap_make_challenge(big, CHAP_MAX_CHALLENGE, &id), 0);
	size_t nz = 0;
	for (size_t i = 0; i < CHAP_MAX_CHALLENGE; i++)
		nz += big[i] != 0;
	assert_true(nz > CHAP_MAX_CHALLENGE / 2);
	/* The byte past len is left alone. */
	big[CHAP_MAX_CHALLENGE] = 0x5a;
	assert_int_equal(chap_make_challenge(big, CHAP_MAX_CHALLENGE, &id), 0);
	assert_int_equal(big[CHAP_MAX_CHALLENGE], 0x5a);
	assert_int_equal(chap_make_challenge(big, 0, &id), -EINVAL);
	assert_int_equal(chap_make_challenge(big, CHAP_MAX_CHALLENGE + 1, &id),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_istgt_exchange),
		cmocka_unit_test(test_response_args),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_decode_hex),
		cmocka_unit_test(test_decode_base64),
		cmocka_unit_test(test_encode_hex),
		cmocka_unit_test(test_offer_and_alg),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_make_challenge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
