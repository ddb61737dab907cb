/*
 * tlsfirst.c - owns the stateless wrapping of a UDP server's first packets
 * (why it exists: tlsfirst.h). Keying, layouts and the HMAC/tag check are
 * wrapprim.c's, shared with tlswrap.c; the one difference from tlswrap is
 * that nothing here remembers a replay packet-id, so this file is only the
 * handle and its constructors.
 *
 * Threads: ctrl only. The contexts are keyed once per constructor (and per
 * tls-crypt-v2 client by tlsfirst_rekey_crypt); per packet only the HMAC
 * restarts and the CTR IV changes. Nothing is logged.
 */
#include <errno.h>
#include <stdlib.h>

#include "tlsfirst.h"
#include "wrapprim.h"

struct tlsfirst {
	struct wrapprim_keys keys;	/* mode, HMAC/tag length, contexts */
};

void tlsfirst_free(struct tlsfirst *t)
{
	if (!t)
		return;
	wrapprim_keys_clear(&t->keys);
	free(t);
}

int tlsfirst_create_none(struct tlsfirst **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

int tlsfirst_create_auth(struct tlsfirst **out, const uint8_t key[KEY2_LEN], int direction,
			 const char *digest)
{
	int rc = tlsfirst_create_none(out);

	if (!rc)
		rc = wrapprim_keys_auth(&(*out)->keys, key, direction, digest);
	if (rc) {
		tlsfirst_free(*out);
		*out = NULL;
	}
	return rc;
}

int tlsfirst_create_crypt(struct tlsfirst **out, const uint8_t key[KEY2_LEN])
{
	int rc = tlsfirst_create_none(out);

	if (!rc)
		rc = wrapprim_keys_crypt(&(*out)->keys, key, true);
	if (rc) {
		tlsfirst_free(*out);
		*out = NULL;
	}
	return rc;
}

int tlsfirst_rekey_crypt(struct tlsfirst *t, const uint8_t key[KEY2_LEN])
{
	return wrapprim_keys_rekey_crypt(&t->keys, key, true);
}

enum tlswrap_mode tlsfirst_mode_get(const struct tlsfirst *t)
{
	return t->keys.mode;
}

int tlsfirst_open(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t *pid, uint32_t *time)
{
	int rc;

	*pid = 0;
	*time = 0;
	rc = wrapprim_check_ctl(in, len);
	if (rc)
		return rc;
	return wrapprim_open(&t->keys, in, len, out, cap, pid, time);
}

int tlsfirst_seal(struct tlsfirst *t, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		  uint32_t pid, uint32_t time)
{
	int rc = wrapprim_check_ctl(in, len);

	if (rc)
		return rc;
	if (len + wrapprim_overhead(&t->keys) > cap)
		return TLSWRAP_ERR_NOSPC;
	return wrapprim_seal(&t->keys, in, len, out, pid, time);
}
