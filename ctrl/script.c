/*
 * script.c - the user's --up/--down commands and pushed DNS (ctrl only).
 *
 * Commands run synchronously from ctrl, as OpenVPN runs them: fork, execve
 * (no shell), wait. The environment is built fresh for each run from the
 * options; nothing of sluice's own environment leaks in except PATH.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/log.h"
#include "config/options.h"
#include "script.h"

#define SCRIPT_ARGS_MAX	64
#define SCRIPT_ENV_MAX	128

struct envbuf {
	char *v[SCRIPT_ENV_MAX + 1];
	int n;
};

static void env_add(struct envbuf *e, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void env_add(struct envbuf *e, const char *name, const char *fmt, ...)
{
	char val[512];
	va_list ap;

	if (e->n >= SCRIPT_ENV_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (asprintf(&e->v[e->n], "%s=%s", name, val) >= 0)
		e->n++;
}

static void env_free(struct envbuf *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

static void env_build(struct envbuf *e, const struct options *o, const char *type,
		      const struct script_ctx *sc)
{
	const char *path = getenv("PATH");
	size_t i;

	env_add(e, "PATH", "%s", path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	env_add(e, "script_type", "%s", type);
	env_add(e, "dev", "%s", sc->dev);
	env_add(e, "dev_type", "tun");
	env_add(e, "tun_mtu", "%d", sc->tun_mtu);
	env_add(e, "verb", "%u", o->verb);
	if (sc->remote_ip) {
		/* OpenVPN names an IPv6 peer trusted_ip6 (setenv_sockaddr()). */
		env_add(e, strchr(sc->remote_ip, ':') ? "trusted_ip6" : "trusted_ip", "%s",
			sc->remote_ip);
		env_add(e, "trusted_port", "%u", sc->remote_port);
	}
	if (o->ifconfig_ipv6_local) {
		env_add(e, "ifconfig_ipv6_local", "%s", o->ifconfig_ipv6_local);
		env_add(e, "ifconfig_ipv6_netbits", "%u", o->ifconfig_ipv6_netbits);
		if (o->ifconfig_ipv6_remote)
			env_add(e, "ifconfig_ipv6_remote", "%s", o->ifconfig_ipv6_remote);
	}
	if (o->ifconfig_local)
		env_add(e, "ifconfig_local", "%s", o->ifconfig_local);
	if (o->ifconfig_remote)
		env_add(e, o->topology == OPT_TOPOLOGY_SUBNET ? "ifconfig_netmask" :
			"ifconfig_remote", "%s", o->ifconfig_remote);
	if (o->route_gateway)
		env_add(e, "route_vpn_gateway", "%s", o->route_gateway);
	for (i = 0; i < o->dhcp_options.n; i++) {
		const struct options_dhcp_option *d = &o->dhcp_options.v[i];
		char name[48];

		snprintf(name, sizeof(name), "foreign_option_%zu", i + 1);
		env_add(e, name, "dhcp-option %s%s%s", d->type, d->value ? " " : "",
			d->value ? d->value : "");
	}
	for (i = 0; i < o->setenvs.n; i++)
		env_add(e, o->setenvs.v[i].name, "%s", o->setenvs.v[i].value);
	e->v[e->n] = NULL;
}

int script_run(const struct options *o, const char *type, const char *cmd,
	       const struct script_ctx *sc)
{
	char *argv[SCRIPT_ARGS_MAX + 8], *copy, *save = NULL, mtu[16];
	struct envbuf env = { .n = 0 };
	int argc = 0, status;
	pid_t pid;

	if (!cmd)
		return 0;
	if (o->script_security < 2) {
		log_warnx("WARNING: --%s '%s' not run: it needs script-security 2 or higher", type,
			  cmd);
		return -EPERM;
	}
	copy = strdup(cmd);
	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, " \t", &save); w && argc < SCRIPT_ARGS_MAX;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	if (!argc) {
		free(copy);
		return -EINVAL;
	}
	snprintf(mtu, sizeof(mtu), "%d", sc->tun_mtu);
	argv[argc++] = (char *)sc->dev;
	argv[argc++] = mtu;
	argv[argc++] = "0";
	argv[argc++] = (char *)(o->ifconfig_local ? o->ifconfig_local : "");
	argv[argc++] = (char *)(o->ifconfig_remote ? o->ifconfig_remote : "");
	argv[argc++] = "init";
	argv[argc] = NULL;
	env_build(&env, o, type, sc);
	log_info("%s: running '%s %s %s 0 %s %s init'", type, cmd, sc->dev, mtu,
		 argv[argc - 3], argv[argc - 2]);
	pid = fork();
	if (pid == 0) {
		execve(argv[0], argv, env.v);
		_exit(127);
	}
	env_free(&env);
	free(copy);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	log_warnx("WARNING: --%s command '%s' failed: %s %d", type, cmd,
		  WIFEXITED(status) ? "exit status" : "signal",
		  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

static bool have_cmd(const char *name)
{
	char path[64];
	const char *dirs[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* Runs a fixed helper (no user input in argv[0]) and waits; stdin from @in. */
static int run_helper(char *const argv[], const char *in)
{
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	if (in && write(fds[1], in, strlen(in)) < 0) {
		/* The helper reports its own error. */
	}
	close(fds[1]);
	if (pid < 0)
		return -errno;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -EINTR;
}

static size_t dns_collect(const struct options *o, char *servers, size_t slen, char *domain,
			  size_t dlen)
{
	size_t n = 0, off = 0;

	servers[0] = domain[0] = 0;
	for (size_t i = 0; i < o->dhcp_options.n; i++) {
		const struct options_dhcp_option *d = &o->dhcp_options.v[i];

		if (!d->value)
			continue;
		if (!strcasecmp(d->type, "DNS") || !strcasecmp(d->type, "DNS6")) {
			int k = snprintf(servers + off, slen - off, "%s%s", n ? " " : "", d->value);

			if (k > 0 && (size_t)k < slen - off) {
				off += (size_t)k;
				n++;
			}
		} else if (!strcasecmp(d->type, "DOMAIN") && !domain[0]) {
			snprintf(domain, dlen, "%s", d->value);
		}
	}
	return n;
}

void script_dns_apply(const struct options *o, const struct script_ctx *sc, bool up_script_ran)
{
	char servers[256], domain[128], buf[640];
	size_t n = dns_collect(o, servers, sizeof(servers), domain, sizeof(domain));

	if (!n && !domain[0])
		return;
	if (up_script_ran) {
		log_info("DNS: %s%s%s handed to the up script (foreign_option_N)", servers,
			 domain[0] ? " domain " : "", domain);
		return;
	}
	if (have_cmd("resolvectl")) {
		char *argv[20] = { "/usr/bin/resolvectl", "dns", (char *)sc->dev };
		int argc = 3;
		char copy[256], *save = NULL;

		snprintf(copy, sizeof(copy), "%s", servers);
		for (char *w = strtok_r(copy, " ", &save); w && argc < 18;
		     w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
		argv[argc] = NULL;
		log_info("DNS: resolvectl dns %s %s", sc->dev, servers);
		if (run_helper(argv, NULL) == 0) {
			if (domain[0]) {
				char *dargv[] = { argv[0], "domain", (char *)sc->dev, domain, NULL };

				run_helper(dargv, NULL);
			}
			return;
		}
		log_warnx("DNS: resolvectl failed; trying resolvconf");
	}
	if (have_cmd("resolvconf")) {
		char iface[80];
		char *argv[] = { "/sbin/resolvconf", "-a", iface, NULL };
		size_t off = 0;
		char copy[256], *save = NULL;

		if (access(argv[0], X_OK))
			argv[0] = "/usr/sbin/resolvconf";
		snprintf(iface, sizeof(iface), "%s.openvpn", sc->dev);
		snprintf(copy, sizeof(copy), "%s", servers);
		buf[0] = 0;
		for (char *w = strtok_r(copy, " ", &save); w && off < sizeof(buf);
		     w = strtok_r(NULL, " ", &save))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "nameserver %s\n", w);
		if (domain[0] && off < sizeof(buf))
			snprintf(buf + off, sizeof(buf) - off, "search %s\n", domain);
		log_info("DNS: resolvconf -a %s (%s)", iface, servers);
		if (run_helper(argv, buf) == 0)
			return;
		log_warnx("DNS: resolvconf failed");
	}
	log_warnx("WARNING: pushed DNS %s%s%s NOT applied: no systemd-resolved (resolvectl), no "
		  "resolvconf and no --up script; add 'up' with script-security 2 to handle it",
		  servers, domain[0] ? " domain " : "", domain);
}

void script_dns_remove(const struct options *o, const struct script_ctx *sc)
{
	char servers[256], domain[128];

	if (!dns_collect(o, servers, sizeof(servers), domain, sizeof(domain)) && !domain[0])
		return;
	if (have_cmd("resolvectl")) {
		char *argv[] = { "/usr/bin/resolvectl", "revert", (char *)sc->dev, NULL };

		run_helper(argv, NULL);
	} else if (have_cmd("resolvconf")) {
		char iface[80];
		char *argv[] = { "/sbin/resolvconf", "-d", iface, NULL };

		if (access(argv[0], X_OK))
			argv[0] = "/usr/sbin/resolvconf";
		snprintf(iface, sizeof(iface), "%s.openvpn", sc->dev);
		run_helper(argv, NULL);
	}
}
