/* SPDX-License-Identifier: MIT */
/* The mcsi.conf parser from a memory buffer, and the secrets parser on the
 * same bytes. What the config parser accepts must survive a format/parse
 * cycle unchanged: the writer never produces text the reader refuses or
 * reads differently. Every refusal carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/config.h"
#include "supervisor/secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct cfg_error err;
	struct cfg *c = NULL, *d = NULL;
	char *out = NULL, *out2 = NULL;
	size_t len = 0, len2 = 0;

	err.msg[0] = '\0';
	if (cfg_parse(s, size, "fuzz", &c, &err) != 0) {
		if (err.msg[0] == '\0' || c)
			abort();
	} else {
		if (cfg_format(c, &out, &len) != 0)
			abort();
		if (cfg_parse(out, len, "fuzz-again", &d, &err) != 0)
			abort();
		if (cfg_format(d, &out2, &len2) != 0 || len != len2 ||
		    memcmp(out, out2, len) != 0)
			abort();
		free(out);
		free(out2);
		cfg_destroy(d);
		cfg_destroy(c);
	}

	struct secrets *sec = NULL;
	err.msg[0] = '\0';
	if (secrets_parse(s, size, "fuzz", &sec, &err) != 0) {
		if (err.msg[0] == '\0' || sec)
			abort();
	} else {
		for (size_t i = 0; i < secrets_count(sec); i++) {
			enum secret_scope scope;
			const char *target, *v;
			size_t vlen;
			if (secrets_entry(sec, i, &scope, &target) != 0 ||
			    secrets_get(sec, scope, target, &v, &vlen) != 0 ||
			    vlen < SECRET_MIN || vlen > SECRET_MAX)
				abort();
		}
		secrets_destroy(sec);
	}
	return 0;
}
