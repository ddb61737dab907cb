/*
 * srvpush.h - the server's PUSH_REPLY messages for one option list
 * (openvpn-wire.md §9), split as 2.6's send_push_reply does: messages of at
 * most PUSH_BUNDLE_SIZE bytes with room kept for the continuation marker;
 * an option that would pass that mark starts a new message, every message
 * but the last ends ",push-continuation 2", the last ",push-continuation 1"
 * (neither when one message holds everything); an empty list is a bare
 * "PUSH_REPLY". Pure; ctrl only.
 */
#ifndef SLUICE_SRVPUSH_H
#define SLUICE_SRVPUSH_H

#include <stdbool.h>

#include "../../core/compiler.h"

#define SRVPUSH_BUNDLE_SIZE	1024	/* PUSH_BUNDLE_SIZE */
/* push.c keeps 84 bytes free for a trailing ifconfig and the continuation marker. */
#define SRVPUSH_SAFE_CAP	(SRVPUSH_BUNDLE_SIZE - 84)

struct srvpush_iter {
	const char *next;	/* the rest of the option list */
	bool is_multi;		/* a message ended with push-continuation 2 */
	bool is_done;
	char msg[SRVPUSH_BUNDLE_SIZE];
};

/*
 * Checks an option list (',' separated, no "PUSH_REPLY,"; NULL is empty):
 * 0, -EMSGSIZE (an option too long for any message: 2.6's "--push option
 * is too long") or -EINVAL (a control character: the client would drop it).
 */
int srvpush_check(const char *push) __must_check;
/* Starts walking the messages of @push (checked with srvpush_check). */
void srvpush_iter_init(struct srvpush_iter *it, const char *push);
/* The next "PUSH_REPLY,..." text in it->msg, or NULL after the last. */
const char *srvpush_next(struct srvpush_iter *it);

#endif
