/*
 * srvpush.c - owns the splitting of a server's push option list into
 * PUSH_REPLY messages (see srvpush.h). Pure string work; ctrl only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "srvpush.h"

#define SRVPUSH_CMD		"PUSH_REPLY"
#define SRVPUSH_CMD_LEN		(sizeof(SRVPUSH_CMD) - 1)

int srvpush_check(const char *push)
{
	size_t opt_len = 0;

	for (const char *p = push ? push : ""; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
		opt_len = *p == ',' ? 0 : opt_len + 1;
		/* Even alone in a message it would reach the safe cap. */
		if (SRVPUSH_CMD_LEN + opt_len >= SRVPUSH_SAFE_CAP)
			return -EMSGSIZE;
	}
	return 0;
}

void srvpush_iter_init(struct srvpush_iter *it, const char *push)
{
	it->next = push ? push : "";
	it->is_multi = false;
	it->is_done = false;
	it->msg[0] = '\0';
}

/* Appends ",@s" (@len bytes of it) or @s alone to it->msg, which holds @used bytes. */
static size_t srvpush_append(struct srvpush_iter *it, size_t used, const char *s, size_t len,
			     bool comma)
{
	int n = snprintf(it->msg + used, sizeof(it->msg) - used, "%s%.*s", comma ? "," : "",
			 (int)len, s);

	return n < 0 ? used : MIN(used + (size_t)n, sizeof(it->msg) - 1);
}

const char *srvpush_next(struct srvpush_iter *it)
{
	static const char more[] = ",push-continuation 2", last[] = ",push-continuation 1";
	size_t used;

	if (it->is_done)
		return NULL;
	used = srvpush_append(it, 0, SRVPUSH_CMD, SRVPUSH_CMD_LEN, false);
	while (*it->next) {
		const char *end = strchrnul(it->next, ',');
		size_t len = (size_t)(end - it->next);

		if (len && used + len >= SRVPUSH_SAFE_CAP && used > SRVPUSH_CMD_LEN) {
			srvpush_append(it, used, more, sizeof(more) - 1, false);
			it->is_multi = true;
			return it->msg;
		}
		/* An option over the cap alone (srvpush_check refuses it) is cut short. */
		if (len)
			used = srvpush_append(it, used, it->next, MIN(len, SRVPUSH_SAFE_CAP), true);
		it->next = *end ? end + 1 : end;
	}
	it->is_done = true;
	if (it->is_multi)
		srvpush_append(it, used, last, sizeof(last) - 1, false);
	return it->msg;
}
