/*
 * fuzz_km2.c - libFuzzer harness for the key-method-2 parser and the peer
 * info parser (ctrl/proto/km2.h). Each input is parsed as a client's and as a
 * server's message. Whatever parses must rebuild (unless over a build limit)
 * into bytes that parse back to the same fields, and every string must lie
 * inside the input and end at its NUL. The input is also read as peer info.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/km2.h"

/* Big enough that only the KM2_MSG_MAX rule (-EMSGSIZE) can refuse a rebuild. */
static uint8_t out[1 << 17];

static void check_string(const char *s, const uint8_t *data, size_t size)
{
	const uint8_t *p = (const uint8_t *)s;

	if (!*s)
		return;	/* "" may be a static empty string */
	if (p < data || p >= data + size || !memchr(p, '\0', (size_t)(data + size - p)))
		abort();
}

static bool same(const struct km2_msg *a, const struct km2_msg *b)
{
	return !memcmp(&a->src, &b->src, sizeof(a->src)) && !strcmp(a->options, b->options) &&
	       !strcmp(a->username, b->username) && !strcmp(a->password, b->password) &&
	       !strcmp(a->peer_info, b->peer_info);
}

static void one(const uint8_t *data, size_t size, bool from_client)
{
	struct km2_msg m, again;
	struct km2_peer peer;
	const char *why;
	char val[64];
	int n;

	if (km2_parse(&m, data, size, from_client, &why)) {
		if (!why)
			abort();
		return;
	}
	check_string(m.options, data, size);
	check_string(m.username, data, size);
	check_string(m.password, data, size);
	check_string(m.peer_info, data, size);
	if (strlen(m.options) >= KM2_OPTIONS_MAX || strlen(m.username) >= KM2_USER_PASS_MAX ||
	    strlen(m.password) >= KM2_USER_PASS_MAX)
		abort();
	km2_peer_info_parse(&peer, m.peer_info);
	km2_peer_info_get(m.peer_info, "IV_PROTO", val, sizeof(val));

	n = km2_build(out, sizeof(out), &m, from_client);
	if (n < 0) {
		if (n != -EMSGSIZE && n != -EINVAL)
			abort();
		return;
	}
	if (km2_parse(&again, out, (size_t)n, from_client, NULL) || !same(&m, &again))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct km2_peer peer;
	char *text;

	one(data, size, true);
	one(data, size, false);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	km2_peer_info_parse(&peer, text);
	if (peer.has_ciphers && strlen(peer.ciphers) >= KM2_CIPHERS_MAX)
		abort();
	free(text);
	return 0;
}
