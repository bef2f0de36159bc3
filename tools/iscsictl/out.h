/* SPDX-License-Identifier: MIT */
/*
 * Output for iscsictl's list verbs: the same records printed either as
 * aligned "key: value" text or as JSON (--json). Strings that came from a
 * target are escaped in both forms.
 */
#ifndef MCSI_ISCSICTL_OUT_H
#define MCSI_ISCSICTL_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct out {
	FILE *f;
	bool json;
	int depth;          /* nesting of JSON containers */
	bool need_comma[16];
	bool first_record;
};

void out_init(struct out *o, FILE *f, bool json);
/* A list of records: out_list_begin("targets") ... out_list_end(). */
void out_list_begin(struct out *o, const char *name);
void out_list_end(struct out *o);
/* One record in a list (text: a blank line between records). */
void out_record_begin(struct out *o, const char *title);
void out_record_end(struct out *o);
/* A nested list inside a record (text: indented). */
void out_sublist_begin(struct out *o, const char *name);
void out_sublist_end(struct out *o);
void out_str(struct out *o, const char *key, const char *value);
void out_strn(struct out *o, const char *key, const char *value, size_t len);
void out_u64(struct out *o, const char *key, uint64_t value);
void out_bool(struct out *o, const char *key, bool value);
/* A list item that is a bare string. */
void out_item(struct out *o, const char *value);
void out_done(struct out *o);

#endif
