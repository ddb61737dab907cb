/*
 * state.c - owns the state names, the change log line and the list of
 * subscribers to state changes (state.h). ctrl only.
 */
#include <errno.h>
#include <string.h>

#include "../core/compiler.h"
#include "../core/log.h"
#include "state.h"

/* The management interface and at most a few more listeners. */
#define STATE_SUBSCRIBERS_MAX	4

static const char *const state_names[CONN_STATE_MAX] = {
	[CONN_CONNECTING] = "CONNECTING",
	[CONN_RESOLVE] = "RESOLVE",
	[CONN_WAIT] = "WAIT",
	[CONN_AUTH] = "AUTH",
	[CONN_AUTH_PENDING] = "AUTH_PENDING",
	[CONN_GET_CONFIG] = "GET_CONFIG",
	[CONN_ASSIGN_IP] = "ASSIGN_IP",
	[CONN_ADD_ROUTES] = "ADD_ROUTES",
	[CONN_CONNECTED] = "CONNECTED",
	[CONN_STALLED] = "STALLED",
	[CONN_RECONNECTING] = "RECONNECTING",
	[CONN_EXITING] = "EXITING",
};

static struct {
	conn_state_cb cb;
	void *arg;
} subs[STATE_SUBSCRIBERS_MAX];

const char *conn_state_name(enum conn_state s)
{
	return (unsigned int)s < CONN_STATE_MAX ? state_names[s] : "UNKNOWN";
}

int state_subscribe(conn_state_cb cb, void *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		if (!subs[i].cb) {
			subs[i].cb = cb;
			subs[i].arg = arg;
			return 0;
		}
	}
	return -ENOSPC;
}

void state_unsubscribe(conn_state_cb cb, void *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (subs[i].cb == cb && subs[i].arg == arg)
			subs[i].cb = NULL;
}

void state_change(struct conn_info *ci, enum conn_state st, const char *why, time_t now)
{
	if (!why)
		why = CONN_WHY_NONE;
	if (ci->state == st && ci->reason && !strcmp(ci->reason, why))
		return;
	ci->state = st;
	ci->reason = why;
	ci->since = now;
	if (*why)
		log_info("state: %s (%s)", conn_state_name(st), why);
	else
		log_info("state: %s", conn_state_name(st));
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		if (subs[i].cb)
			subs[i].cb(subs[i].arg, ci);
}
