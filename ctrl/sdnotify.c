/*
 * sdnotify.c - owns systemd's notification protocol (sd_notify(3), without
 * libsystemd): datagrams "KEY=VALUE\n..." to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace), for the
 * units' Type=notify (ctrl/dist/sluice-*@.service):
 *
 *   READY=1        once, when the tunnel really passes data: the first
 *                  change to CONNECTED (a client's keys are installed and
 *                  its push applied; a server listens with its TUN up)
 *   STATUS=...     every state change, with its reason ("CONNECTED
 *                  (reconnected)", "RECONNECTING (ping-restart)")
 *   WATCHDOG=1     every half of $WATCHDOG_USEC, from ctrl's tick, when
 *                  $WATCHDOG_PID is unset or ours: a stuck ctrl stops
 *                  sending and systemd restarts the service
 *   STOPPING=1     at exit
 *
 * No socket in the environment: everything here does nothing. A failed
 * send is ignored (systemd may not listen yet; nothing to repair).
 *
 * Thread: ctrl only (a state_subscribe callback and main.c's tick).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/log.h"
#include "sdnotify.h"
#include "state.h"

static struct {
	int fd;
	struct sockaddr_un sa;
	socklen_t len;
	bool ready;
	int64_t watchdog_ns;		/* half the interval; 0: no watchdog */
	int64_t next_ns;
} sd = { .fd = -1 };

static void sd_send(const char *msg)
{
	if (sd.fd >= 0)
		(void)!sendto(sd.fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sd.sa,
			      sd.len);
}

static void sd_on_state(void *arg, const struct conn_info *ci)
{
	char msg[256];
	const char *why = ci->reason && *ci->reason ? ci->reason : NULL;
	int n = 0;

	(void)arg;
	if (ci->state == CONN_CONNECTED && !sd.ready) {
		sd.ready = true;
		n = snprintf(msg, sizeof(msg), "READY=1\n");
	}
	snprintf(msg + n, sizeof(msg) - (size_t)n, "STATUS=%s%s%s%s", conn_state_name(ci->state),
		 why ? " (" : "", why ? why : "", why ? ")" : "");
	sd_send(msg);
}

void sdnotify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	const char *usec = getenv("WATCHDOG_USEC"), *wpid = getenv("WATCHDOG_PID");
	size_t n;

	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sd.sa.sun_path)) {
		log_warnx("systemd: NOTIFY_SOCKET path too long, not notifying");
		return;
	}
	sd.sa.sun_family = AF_UNIX;
	memcpy(sd.sa.sun_path, path, n);
	if (path[0] == '@')
		sd.sa.sun_path[0] = '\0';	/* the abstract namespace */
	sd.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	sd.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sd.fd < 0) {
		log_warn("systemd: cannot open a notification socket");
		return;
	}
	if (usec && (!wpid || atol(wpid) == (long)getpid())) {
		long long us = atoll(usec);

		if (us > 0)
			sd.watchdog_ns = us * 1000 / 2;
	}
	if (state_subscribe(sd_on_state, NULL))
		log_warnx("systemd: no room for the state listener; only WATCHDOG=1 is sent");
	sd_send("STATUS=starting");
}

void sdnotify_tick(int64_t now_ns)
{
	if (sd.fd < 0 || !sd.watchdog_ns || now_ns < sd.next_ns)
		return;
	/* Half a tick early: the 1 s tick must not stretch the interval past its half. */
	sd.next_ns = now_ns + sd.watchdog_ns - 500000000LL;
	sd_send("WATCHDOG=1");
}

void sdnotify_stopping(void)
{
	if (sd.fd < 0)
		return;
	sd_send("STOPPING=1\nSTATUS=exiting");
	state_unsubscribe(sd_on_state, NULL);
	close(sd.fd);
	sd.fd = -1;
}
