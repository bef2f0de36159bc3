/* SPDX-License-Identifier: MIT */
#include "tools/iscsictl/out.h"

#include <ctype.h>
#include <string.h>

void out_init(struct out *o, FILE *f, bool json)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->first_record = true;
}

static void json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Text form: printable bytes as they are, the rest as \xNN. */
static void text_string(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isprint(c))
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

static void sep(struct out *o)
{
	if (o->need_comma[o->depth])
		fputc(',', o->f);
	o->need_comma[o->depth] = true;
}

static void open_c(struct out *o, char c)
{
	fputc(c, o->f);
	if (o->depth < 15)
		o->depth++;
	o->need_comma[o->depth] = false;
}

static void close_c(struct out *o, char c)
{
	if (o->depth > 0)
		o->depth--;
	fputc(c, o->f);
}

static void key(struct out *o, const char *k)
{
	sep(o);
	json_string(o->f, k, strlen(k));
	fputc(':', o->f);
}

static void indent(struct out *o)
{
	for (int i = 0; i < o->depth; i++)
		fputs("  ", o->f);
}

void out_list_begin(struct out *o, const char *name)
{
	if (o->json) {
		if (o->depth == 0)
			open_c(o, '{');
		key(o, name);
		open_c(o, '[');
	}
}

void out_list_end(struct out *o)
{
	if (o->json)
		close_c(o, ']');
}

void out_record_begin(struct out *o, const char *title)
{
	if (o->json) {
		sep(o);
		open_c(o, '{');
		return;
	}
	if (!o->first_record)
		fputc('\n', o->f);
	o->first_record = false;
	if (title) {
		text_string(o->f, title, strlen(title));
		fputc('\n', o->f);
	}
	o->depth++;
}

void out_record_end(struct out *o)
{
	if (o->json)
		close_c(o, '}');
	else if (o->depth > 0)
		o->depth--;
}

void out_sublist_begin(struct out *o, const char *name)
{
	if (o->json) {
		key(o, name);
		open_c(o, '[');
		return;
	}
	indent(o);
	fprintf(o->f, "%s:\n", name);
	o->depth++;
	o->first_record = true;
}

void out_sublist_end(struct out *o)
{
	if (o->json)
		close_c(o, ']');
	else if (o->depth > 0)
		o->depth--;
}

void out_strn(struct out *o, const char *k, const char *v, size_t len)
{
	if (o->json) {
		key(o, k);
		json_string(o->f, v, len);
		return;
	}
	indent(o);
	fprintf(o->f, "%-30s ", k);
	text_string(o->f, v, len);
	fputc('\n', o->f);
}

void out_str(struct out *o, const char *k, const char *v)
{
	out_strn(o, k, v ? v : "", v ? strlen(v) : 0);
}

void out_u64(struct out *o, const char *k, uint64_t v)
{
	if (o->json) {
		key(o, k);
		fprintf(o->f, "%llu", (unsigned long long)v);
		return;
	}
	indent(o);
	fprintf(o->f, "%-30s %llu\n", k, (unsigned long long)v);
}

void out_bool(struct out *o, const char *k, bool v)
{
	if (o->json) {
		key(o, k);
		fputs(v ? "true" : "false", o->f);
		return;
	}
	indent(o);
	fprintf(o->f, "%-30s %s\n", k, v ? "yes" : "no");
}

void out_item(struct out *o, const char *v)
{
	if (o->json) {
		sep(o);
		json_string(o->f, v, strlen(v));
		return;
	}
	indent(o);
	text_string(o->f, v, strlen(v));
	fputc('\n', o->f);
}

void out_done(struct out *o)
{
	if (o->json) {
		while (o->depth > 0)
			close_c(o, o->depth == 1 ? '}' : ']');
		fputc('\n', o->f);
	}
	fflush(o->f);
}
