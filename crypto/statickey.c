/*
 * statickey.c - owns the one parser of "OpenVPN Static key V1" text
 * (openvpn-wire.md §2.4): tls-auth, tls-crypt, --secret and test-data-key
 * files, from a file or an inline block. Every caller (the client and server
 * control planes, the option loader for test-data-key) goes through
 * dc_static_key_parse_msg(), so all of them accept the same texts.
 *
 * Threads: ctrl only, at config load. The text is untrusted (fuzzed with
 * the config parser); nothing is logged, and an error message names a
 * reason and a line, never a key byte.
 *
 * Layout: optional text, a BEGIN line, 256 bytes of hex (OpenVPN writes 16
 * lines of 32 digits, but like its read_key_file we accept any whitespace
 * between bytes), an END line, optional text. Differences from
 * read_key_file, all stricter or harmless: '#'/';' comment lines inside the
 * block are skipped rather than fatal; the block must hold exactly 256
 * bytes (OpenVPN accepts a 128-byte key and ignores digits past 256); a
 * lone hex digit before whitespace is an error.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "statickey.h"

static const char static_key_head[] = "-----BEGIN OpenVPN Static key V1-----";
static const char static_key_foot[] = "-----END OpenVPN Static key V1-----";

/* Why a block is refused; the index of a message in static_key_why[]. */
enum static_key_err {
	SK_OK,
	SK_NO_TEXT,
	SK_NO_BEGIN,
	SK_NO_END,
	SK_NON_HEX,
	SK_SPLIT_BYTE,
	SK_TOO_LONG,
	SK_TOO_SHORT,
};

static const char *const static_key_why[] = {
	[SK_OK] = "ok",
	[SK_NO_TEXT] = "no text",
	[SK_NO_BEGIN] = "no '-----BEGIN OpenVPN Static key V1-----' line",
	[SK_NO_END] = "no '-----END OpenVPN Static key V1-----' line",
	[SK_NON_HEX] = "non-hex character",
	[SK_SPLIT_BYTE] = "odd number of hex digits (a byte split by a blank or a line end)",
	[SK_TOO_LONG] = "more than 256 bytes",
	[SK_TOO_SHORT] = "fewer than 256 bytes of key",
};

struct key_parser {
	uint8_t *out;
	unsigned int count;		/* bytes stored */
	int nibble;			/* high half of the byte being read, or -1 */
};

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The line [s, e) without leading and trailing blanks equals @want. */
static bool line_is(const char *s, const char *e, const char *want)
{
	size_t n = strlen(want);

	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	return (size_t)(e - s) == n && !memcmp(s, want, n);
}

/* One line of key data. Returns SK_OK or the reason it is refused. */
static enum static_key_err parse_data_line(struct key_parser *kp, const char *s, const char *e)
{
	while (s < e && is_blank(*s))
		s++;
	if (s < e && (*s == '#' || *s == ';'))
		return SK_OK;
	for (; s < e; s++) {
		int v = hex_value(*s);

		if (is_blank(*s)) {
			if (kp->nibble >= 0)
				return SK_SPLIT_BYTE;
			continue;
		}
		if (v < 0)
			return SK_NON_HEX;
		if (kp->nibble < 0) {
			kp->nibble = v;
			continue;
		}
		if (kp->count == KEY2_LEN)
			return SK_TOO_LONG;
		kp->out[kp->count++] = (uint8_t)(kp->nibble << 4 | v);
		kp->nibble = -1;
	}
	/* A byte never spans lines. */
	return kp->nibble >= 0 ? SK_SPLIT_BYTE : SK_OK;
}

int dc_static_key_parse_msg(const char *text, uint8_t out[KEY2_LEN], char *err, size_t errlen)
{
	struct key_parser kp = { .out = out, .count = 0, .nibble = -1 };
	enum { BEFORE, DATA, DONE } state = BEFORE;
	enum static_key_err why = SK_OK;
	unsigned int line = 0;
	const char *s = text;

	memset(out, 0, KEY2_LEN);
	if (!text)
		why = SK_NO_TEXT;
	while (!why && *s && state != DONE) {
		const char *e = strchr(s, '\n');

		if (!e)
			e = s + strlen(s);
		line++;
		if (state == BEFORE && line_is(s, e, static_key_head))
			state = DATA;
		else if (state == DATA && line_is(s, e, static_key_foot))
			state = DONE;
		else if (state == DATA)
			why = parse_data_line(&kp, s, e);
		s = *e ? e + 1 : e;
	}
	if (!why && (state != DONE || kp.count != KEY2_LEN)) {
		why = state == BEFORE ? SK_NO_BEGIN : state == DATA ? SK_NO_END : SK_TOO_SHORT;
		line = 0;	/* about the whole text, not one line */
	}
	if (!why)
		return 0;
	if (err && errlen && line)
		snprintf(err, errlen, "static key: %s on line %u", static_key_why[why], line);
	else if (err && errlen)
		snprintf(err, errlen, "static key: %s", static_key_why[why]);
	OPENSSL_cleanse(out, KEY2_LEN);
	return -EINVAL;
}
