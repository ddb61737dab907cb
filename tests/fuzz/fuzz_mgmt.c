/*
 * fuzz_mgmt.c - libFuzzer harness for the management interface's parser and
 * commands (ctrl/mgmt.c, ctrl/mgmt_cmd.c): the input is what one client
 * types, byte for byte, into a connection adopted from a socketpair, in
 * chunks whose sizes come from the input itself (framing across reads),
 * with the reader draining our replies in between. The first byte picks a
 * server-like or client-like mode (multi-line client-auth, per-client
 * bytecount) and whether the interface wants a password first.
 *
 * The host's `signal` is a counter (no signal is raised) and the mode is a
 * stub: what is fuzzed is the parser, the history and hold/password state,
 * and the bounded buffers, not a daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/log.h"
#include "../../ctrl/config/options.h"
#include "../../ctrl/mgmt.h"
#include "../../ctrl/mode.h"
#include "../../ctrl/state.h"
#include "../../ctrl/status.h"

static struct conn_info ci;
static unsigned long signals;
static struct status_src src;
static struct mode_ops mode;
static struct mgmt_mode_ops mmode;
static struct mgmt *mg[2];		/* [0] no password, [1] password "pw" */
static struct options opts[2];
static int ep_fd = -1;

static const struct conn_info *stub_conn_info(void *m)
{
	(void)m;
	return &ci;
}

static void stub_write_status(void *m, enum status_fmt fmt, FILE *f)
{
	(void)m;
	fprintf(f, "fmt=%d\n", (int)fmt);
}

static bool stub_cmd(void *m, const struct mgmt_req *r, int64_t now)
{
	(void)m, (void)now;
	mgmt_reply(r, "SUCCESS: %s argc=%d block=%zu", r->argv[0], r->argc,
		   r->block ? strlen(r->block) : 0);
	return true;
}

static void stub_bytecount(void *m, const struct mgmt_req *r)
{
	(void)m;
	mgmt_reply(r, ">BYTECOUNT_CLI:0,1,2");
}

static const struct status_src *host_src(void *arg)
{
	(void)arg;
	return &src;
}

static void host_signal(void *arg, int signo)
{
	(void)arg;
	signals += (unsigned long)signo;
}

static int setup(void)
{
	struct mgmt_host host = { .src = host_src, .signal = host_signal };
	char path[2][64], pwf[64];
	FILE *f;

	log_init(0, 0);
	signal(SIGPIPE, SIG_IGN);	/* as main.c: a closed peer is an error, not a signal */
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	mode.name = "fuzz";
	mode.conn_info = stub_conn_info;
	mode.write_status = stub_write_status;
	src.ops = &mode;
	snprintf(pwf, sizeof(pwf), "/tmp/fuzz-mgmt-%d.pw", (int)getpid());
	f = fopen(pwf, "w");
	if (!f || fputs("pw\n", f) < 0 || fclose(f))
		return -1;
	for (int i = 0; i < 2; i++) {
		options_init(&opts[i]);
		snprintf(path[i], sizeof(path[i]), "/tmp/fuzz-mgmt-%d-%d.sock", (int)getpid(), i);
		opts[i].management_addr = path[i];
		opts[i].management_unix = true;
		opts[i].management_hold = true;
		opts[i].management_query_passwords = true;
		opts[i].management_pw_file = i ? pwf : NULL;
		if (mgmt_create(&mg[i], &opts[i], &host, ep_fd))
			return -1;
	}
	unlink(pwf);
	state_change(&ci, CONN_CONNECTED, CONN_WHY_INIT, 1);
	return 0;
}

/* Reads whatever we answered, so our output never pauses the input for long. */
static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct mgmt *m;
	int sv[2];
	size_t off = 1;

	if (!ready) {
		if (setup())
			abort();
		ready = true;
	}
	if (size < 1)
		return 0;
	m = mg[data[0] & 1];
	mode.mgmt = (data[0] & 2) ? &mmode : NULL;
	mode.has_ovpn_status = data[0] & 2;
	mmode.cmd = stub_cmd;
	mmode.bytecount = stub_bytecount;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return 0;
	if (mgmt_conn_adopt(m, sv[0])) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* Chunks of 1..256 bytes, the length taken from the byte before each chunk. */
	while (off < size) {
		size_t n = (size_t)data[off++] + 1;

		if (n > size - off)
			n = size - off;
		if (n && send(sv[1], data + off, n, MSG_NOSIGNAL) < 0)
			break;
		off += n;
		(void)mgmt_on_event(m, sv[0], EPOLLIN);
		drain(sv[1]);
		(void)mgmt_on_event(m, sv[0], EPOLLOUT);
		mgmt_tick(m, (int64_t)off * 1000000000LL);
	}
	/* The client goes away: the next event frees the connection. */
	close(sv[1]);
	for (int k = 0; k < 4 && mgmt_on_event(m, sv[0], EPOLLIN | EPOLLHUP); k++)
		;
	return 0;
}
