/*
 * opt_proc.c - owns the directives about the process itself: its role (client, pull,
 * tls-client, tls-server, mode), scripts and their environment (up, down, route-up,
 * script-security, setenv, ignore-unknown-option), logging, status, daemon, privilege
 * drop, management, pushed echo texts, and sluice's own options (workers, io-queues, the offload
 * switches tun-offload, udp-gso, udp-gro and uring-fixed-buffers, kill-switch and the
 * test-* options the test suite uses). Scripts are stored, never run here.
 *
 * Called from the ctrl thread only, through opt_dispatch() (opt_dispatch.c).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "options_int.h"

/* --- role ------------------------------------------------------------------------- */

static int h_mode(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "p2p", "server", NULL };
	int k, ret = opt_get_word(d, 1, w, "p2p or server", &k, err, errlen);

	if (!ret)
		c->o->mode = k ? OPT_MODE_SERVER : OPT_MODE_P2P;
	return ret;
}

/* --- scripts, environment, messages ----------------------------------------------- */

static int h_script(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot = !strcmp(ARG(0), "up") ? &c->o->up :
			    !strcmp(ARG(0), "down") ? &c->o->down : &c->o->route_up;

	if (*slot)
		opt_warnf(c->o, &d->src, "%s given more than once, the last one is used", ARG(0));
	(void)err, (void)errlen;
	*slot = ARG(1);
	return 0;
}

static int h_setenv(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options *o = c->o;
	struct options_setenv *e;
	unsigned int v;

	if (!strcmp(ARG(1), "GENERIC_CONFIG"))
		return ERR("this is a generic configuration and cannot be used directly");
	if (!strcmp(ARG(1), "REMOTE_RANDOM_HOSTNAME") && NARGS == 1)
		return 0;	/* random host name prefixes are not implemented: harmless */
	if (!strcmp(ARG(1), "PUSH_PEER_INFO") && NARGS == 1) {
		o->push_peer_info = true;
		return 0;
	}
	if (!strcmp(ARG(1), "SERVER_POLL_TIMEOUT") && NARGS == 2) {
		if (opt_get_uint(d, 2, 0, INT_MAX, &v, err, errlen))
			return -EINVAL;
		c->ce->server_poll_timeout = v;
		return 0;
	}
	if (!strcmp(ARG(1), "FORWARD_COMPATIBLE") && ARG_IS(2, "1"))
		o->forward_compatible = true;
	e = VEC_ADD(o->setenvs);
	if (!e)
		return -ENOMEM;
	e->name = ARG(1);
	e->value = NARGS == 2 ? ARG(2) : "";
	return 0;
}

static int h_ignore_unknown(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	const char **slot;
	int i;

	(void)err, (void)errlen;
	for (i = 1; i < d->argc; i++) {
		slot = VEC_ADD(c->o->ignore_unknown);
		if (!slot)
			return -ENOMEM;
		/* "ignore-unknown-option --foo" is accepted too. */
		*slot = (ARG(i)[0] == '-' && ARG(i)[1] == '-') ? ARG(i) + 2 : ARG(i);
	}
	return 0;
}

static int h_log(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->log = ARG(1);
	c->o->log_append = !strcmp(ARG(0), "log-append");
	return 0;
}

static int h_status(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	c->o->status_file = ARG(1);
	return NARGS == 2 ? opt_get_uint(d, 2, 0, INT_MAX, &c->o->status_interval, err, errlen) : 0;
}

static int h_daemon(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	/* Init scripts sometimes add their own --daemon: the first name wins, as in 2.6. */
	if (c->o->daemon && NARGS) {
		opt_warnf(c->o, &d->src, "daemon given more than once, '%.64s' ignored", ARG(1));
		return 0;
	}
	c->o->daemon = true;
	if (NARGS)
		c->o->daemon_name = ARG(1);
	return 0;
}

static int h_management(struct opt_ctx *c, struct config_directive *d, char *err,
			size_t errlen)
{
	struct options *o = c->o;
	int ret;

	o->management_unix = !strcmp(ARG(2), "unix");
	if (!o->management_unix) {
		ret = opt_get_port(d, 2, 0, &o->management_port, err, errlen);
		if (ret)
			return ret;
	}
	o->management_addr = ARG(1);
	o->management_pw_file = NARGS == 3 ? ARG(3) : NULL;
	return 0;
}

static int h_echo(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	const char **slot = VEC_ADD(c->o->echo);

	(void)err, (void)errlen;
	if (!slot)
		return -ENOMEM;
	*slot = opt_join_args(&c->o->arena, d, 1);
	return *slot ? 0 : -ENOMEM;
}

/* --- sluice ----------------------------------------------------------------------- */

static int h_metrics(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	int ret = opt_get_port(d, 2, 1, &c->o->metrics_port, err, errlen);

	if (!ret)
		c->o->metrics_addr = ARG(1);
	return ret;
}

static int h_test_data_key(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	int dir = -1;

	if (NARGS == 2 && (d->is_inline || opt_get_key_direction(d, 2, &dir, err, errlen) ||
			   dir < 0))
		return ERR("test-data-key expects FILE [0|1] or an inline block");
	c->o->test_data_key.data = ARG(1);
	c->o->test_data_key.is_inline = d->is_inline;
	c->o->test_data_key_direction = dir;
	return 0;
}

static int h_test_peer_id(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	int ret = opt_get_uint(d, 1, 0, OPT_PEER_ID_MAX, &c->o->test_peer_id, err, errlen);

	if (!ret)
		c->o->has_test_peer_id = true;
	return ret;
}

/* tun-offload, udp-gso, udp-gro, uring-fixed-buffers: yes (the default) or no. */
static int h_offload(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "no", "yes", NULL };
	bool *no = !strcmp(ARG(0), "tun-offload") ? &c->o->no_tun_offload :
		   !strcmp(ARG(0), "udp-gso") ? &c->o->no_udp_gso :
		   !strcmp(ARG(0), "udp-gro") ? &c->o->no_udp_gro : &c->o->no_uring_fixed_bufs;
	int k, ret = opt_get_word(d, 1, w, "yes or no", &k, err, errlen);

	if (!ret)
		*no = k == 0;
	return ret;
}

/*
 * workers N: N crypto threads per direction (1..OPT_WORKERS_MAX); 0: none,
 * the I/O threads seal and open (pipeline_cfg.inline_crypto). Not given:
 * runcfg sizes them to the machine.
 */
static int h_workers(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned long long v;
	char p[80];

	if (opt_parse_num(ARG(1), 0, OPT_WORKERS_MAX, &v)) {
		c->o->workers = (unsigned int)v;
		c->o->workers_inline = v == 0;
		return 0;
	}
	return ERR("workers expects a number 0..%d (0: crypto on the I/O threads), got '%s'",
		   OPT_WORKERS_MAX, opt_printable(ARG(1), p, sizeof(p)));
}

/* io-queues N|auto: N lanes (1..OPT_IO_QUEUES_MAX); auto (0) lets runcfg size them. */
static int h_io_queues(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned long long v;
	char p[80];

	if (!strcmp(ARG(1), "auto")) {
		c->o->io_queues = 0;
		return 0;
	}
	if (opt_parse_num(ARG(1), 1, OPT_IO_QUEUES_MAX, &v)) {
		c->o->io_queues = (unsigned int)v;
		return 0;
	}
	return ERR("io-queues expects auto or a number 1..%d, got '%s'", OPT_IO_QUEUES_MAX,
		   opt_printable(ARG(1), p, sizeof(p)));
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def proc_defs[] = {
	/* Role. */
	FLAG("client", C, client),
	FLAG("pull", C, pull),
	FLAG("tls-client", C, tls_client),
	FLAG("tls-server", C, tls_server),
	FN("mode", C, 1, 1, h_mode, "p2p or server"),
	/* Scripts and environment. */
	UINT("script-security", C, script_security, 0, 3),
	FN("up", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FN("down", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FN("route-up", C, 1, 1, h_script, "'COMMAND' (quote a command with arguments)"),
	FLAG("down-pre", C, down_pre),
	FN("setenv", C, 1, 2, h_setenv, "NAME [VALUE]"),
	FN("ignore-unknown-option", C, 1, CONFIG_PARMS_MAX - 1, h_ignore_unknown, "OPTION..."),
	/* Process. */
	UINT("verb", CP, verb, 0, 11),
	UINT("mute", CP, mute, 0, INT_MAX),
	FLAG("suppress-timestamps", C, suppress_timestamps),
	FN("log", C, 1, 1, h_log, "FILE"),
	FN("log-append", C, 1, 1, h_log, "FILE"),
	FN("status", C, 1, 2, h_status, "FILE [SECONDS]"),
	UINT("status-version", C, status_version, 1, 3),
	STR("writepid", C, writepid),
	FN("daemon", C, 0, 1, h_daemon, "[PROGRAM-NAME]"),
	STR("user", C, user),
	STR("group", C, group),
	STR("cd", C, cd),
	STR("chroot", C, chroot),
	FN("management", C, 2, 3, h_management, "ADDRESS PORT [PW-FILE] or PATH unix [PW-FILE]"),
	FLAG("management-hold", C, management_hold),
	FLAG("management-query-passwords", C, management_query_passwords),
	FLAG("management-client-auth", C, management_client_auth),
	UINT("management-log-cache", C, management_log_cache, 1, 1000000),
	FN("echo", CP, 0, CONFIG_PARMS_MAX - 1, h_echo, "[TEXT...]"),
	/* sluice. */
	FN("workers", C | F_SLUICE, 1, 1, h_workers, "N"),
	FN("io-queues", C | F_SLUICE, 1, 1, h_io_queues, "N|auto"),
	FN("metrics", C | F_SLUICE, 2, 2, h_metrics, "ADDRESS PORT"),
	FN("tun-offload", C | F_SLUICE, 1, 1, h_offload, "yes or no"),
	FN("udp-gso", C | F_SLUICE, 1, 1, h_offload, "yes or no"),
	FN("udp-gro", C | F_SLUICE, 1, 1, h_offload, "yes or no"),
	FN("uring-fixed-buffers", C | F_SLUICE, 1, 1, h_offload, "yes or no"),
	FLAG("kill-switch", C | F_SLUICE, kill_switch),
	FLAG("test-no-ekm", C | F_SLUICE, test_no_ekm),
	FLAG("test-no-dyn-tls-crypt", C | F_SLUICE, test_no_dyn_tls_crypt),
	FLAG("test-reneg-ovpn3", C | F_SLUICE, test_reneg_ovpn3),
	STR("test-sleep-hook", C | F_SLUICE, test_sleep_hook),
	FN("test-data-key", C | F_INLINE | F_SLUICE, 1, 2, h_test_data_key,
	   "FILE [0|1] or an inline block"),
	FN("test-peer-id", C | F_SLUICE, 1, 1, h_test_peer_id, "ID"),
	STR("test-cipher", C | F_SLUICE, test_cipher),
};

const struct opt_table opt_proc_table = OPT_TABLE(proc_defs);
