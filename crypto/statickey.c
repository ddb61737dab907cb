/*
 * statickey.c - owns the parser of "OpenVPN Static key V1" text
 * (openvpn-wire.md §2.4): tls-auth, tls-crypt and --secret key files.
 *
 * Threads: ctrl only, at config load. The text is untrusted (fuzzed with
 * the config parser); nothing is logged, so no key byte can reach a log.
 *
 * Layout: optional text, a BEGIN line, 256 bytes of hex (OpenVPN writes 16
 * lines of 32 digits, but like its read_key_file we accept any whitespace
 * between digits), an END line, optional text. Differences from
 * read_key_file, all stricter or harmless: '#'/';' comment lines inside the
 * block are skipped rather than fatal; the block must hold exactly 256
 * bytes (OpenVPN accepts a 128-byte key and ignores digits past 256); a
 * lone hex digit before whitespace is an error.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dc.h"

static const char static_key_head[] = "-----BEGIN OpenVPN Static key V1-----";
static const char static_key_foot[] = "-----END OpenVPN Static key V1-----";

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

/* One line of key data. Returns 0 or -EINVAL. */
static int parse_data_line(struct key_parser *kp, const char *s, const char *e)
{
	while (s < e && is_blank(*s))
		s++;
	if (s < e && (*s == '#' || *s == ';'))
		return 0;
	for (; s < e; s++) {
		int v = hex_value(*s);

		if (is_blank(*s)) {
			if (kp->nibble >= 0)
				return -EINVAL;
			continue;
		}
		if (v < 0)
			return -EINVAL;
		if (kp->nibble < 0) {
			kp->nibble = v;
			continue;
		}
		if (kp->count == KEY2_LEN)
			return -EINVAL;
		kp->out[kp->count++] = (uint8_t)(kp->nibble << 4 | v);
		kp->nibble = -1;
	}
	/* A byte never spans lines. */
	return kp->nibble >= 0 ? -EINVAL : 0;
}

int dc_static_key_parse(const char *text, uint8_t out[KEY2_LEN])
{
	struct key_parser kp = { .out = out, .count = 0, .nibble = -1 };
	enum { BEFORE, DATA, DONE } state = BEFORE;
	const char *s = text;
	int rc = 0;

	memset(out, 0, KEY2_LEN);
	if (!text)
		return -EINVAL;
	while (*s && state != DONE && !rc) {
		const char *e = strchr(s, '\n');

		if (!e)
			e = s + strlen(s);
		if (state == BEFORE && line_is(s, e, static_key_head))
			state = DATA;
		else if (state == DATA && line_is(s, e, static_key_foot))
			state = DONE;
		else if (state == DATA)
			rc = parse_data_line(&kp, s, e);
		s = *e ? e + 1 : e;
	}
	if (!rc && (state != DONE || kp.count != KEY2_LEN))
		rc = -EINVAL;
	if (rc)
		OPENSSL_cleanse(out, KEY2_LEN);
	return rc;
}
