/*
 * killswitch.c - owns `kill-switch` (fail-closed) and `block-ipv6` on a
 * client: one nftables table of sluice's own per tunnel device,
 * "inet sluice_ks_<dev>", written with the nft command (Debian's nftables)
 * in one atomic transaction.
 *
 *   kill-switch   output and forward policy drop; what may leave: loopback,
 *                 the tunnel device, the VPN server's address and port over
 *                 UDP, DHCP/DHCPv6 and IPv6 neighbour discovery (they carry
 *                 no user traffic and keep the underlay alive). The table
 *                 stays while sluice reconnects and after it is killed; a
 *                 clean exit removes it, and so does
 *                 `sluice --kill-switch-off [DEV]`.
 *   block-ipv6    no IPv6 leaves but on loopback and to an IPv6 VPN server
 *                 (stock sends IPv6 into the tunnel and drops it there; the
 *                 effect for the user is the same: no IPv6 anywhere).
 *
 * Remote names are resolved before the table exists; a reconnect to
 * another address updates the table (killswitch_apply again).
 *
 * Thread: ctrl only (fork/exec of nft).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/log.h"
#include "killswitch.h"

#define KS_SCRIPT_MAX	4096

/* Runs `nft -f -` with @script on its stdin. 0, or -EIO (logged by the caller). */
static int nft_run(const char *script)
{
	int pfd[2], status;
	size_t len = strlen(script), off = 0;
	pid_t pid;

	if (pipe(pfd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[0], STDIN_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	while (off < len) {
		ssize_t w = write(pfd[1], script + off, len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(pfd[1]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int ks_printf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int ks_printf(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= cap - *n)
		return -ENOSPC;
	*n += (size_t)w;
	return 0;
}

/* A device name nft may quote: what the kernel allows in IFNAMSIZ, no quotes. */
static bool dev_ok(const char *dev)
{
	size_t n = strlen(dev);

	if (!n || n >= 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (dev[i] == '"' || dev[i] == '\\' || dev[i] <= ' ')
			return false;
	return true;
}

int killswitch_apply(const char *dev, const union sockaddr_any *servers, size_t n_servers,
		     bool kill_switch, bool block_ipv6)
{
	static char s[KS_SCRIPT_MAX];	/* ctrl only */
	size_t n = 0;
	int rc = 0;

	if (!dev_ok(dev))
		return -EINVAL;
	/* Created, deleted and created again in one transaction: atomic, whether or not it was there. */
	rc |= ks_printf(s, sizeof(s), &n, "add table inet sluice_ks_%s\n"
			"delete table inet sluice_ks_%s\n"
			"table inet sluice_ks_%s {\n", dev, dev, dev);
	rc |= ks_printf(s, sizeof(s), &n, "\tchain output {\n"
			"\t\ttype filter hook output priority 0; policy %s;\n"
			"\t\toifname \"lo\" accept\n", kill_switch ? "drop" : "accept");
	for (size_t i = 0; i < n_servers; i++) {
		char a[INET6_ADDRSTRLEN];
		bool v6 = servers[i].sa.sa_family == AF_INET6;

		if (!inet_ntop(servers[i].sa.sa_family, v6 ? (const void *)&servers[i].in6.sin6_addr :
			       (const void *)&servers[i].in4.sin_addr, a, sizeof(a)))
			continue;
		rc |= ks_printf(s, sizeof(s), &n, "\t\t%s daddr %s udp dport %u accept\n",
				v6 ? "ip6" : "ip", a,
				ntohs(v6 ? servers[i].in6.sin6_port : servers[i].in4.sin_port));
	}
	if (block_ipv6)
		rc |= ks_printf(s, sizeof(s), &n, "\t\tmeta nfproto ipv6 oifname \"%s\" drop\n",
				dev);
	rc |= ks_printf(s, sizeof(s), &n, "\t\toifname \"%s\" accept\n", dev);
	if (kill_switch)
		rc |= ks_printf(s, sizeof(s), &n,
				"\t\tudp sport 68 udp dport 67 accept\n"
				"\t\tudp sport 546 udp dport 547 accept\n"
				"\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, "
				"nd-neighbor-advert } accept\n");
	if (block_ipv6)
		rc |= ks_printf(s, sizeof(s), &n,
				"\t\tmeta nfproto ipv6 icmpv6 type { nd-router-solicit, "
				"nd-neighbor-solicit, nd-neighbor-advert } accept\n"
				"\t\tmeta nfproto ipv6 drop\n");
	rc |= ks_printf(s, sizeof(s), &n, "\t}\n");
	if (kill_switch)
		rc |= ks_printf(s, sizeof(s), &n, "\tchain forward {\n"
				"\t\ttype filter hook forward priority 0; policy drop;\n"
				"\t\toifname \"%s\" accept\n\t\tiifname \"%s\" accept\n\t}\n", dev, dev);
	rc |= ks_printf(s, sizeof(s), &n, "}\n");
	if (rc)
		return -ENOSPC;
	return nft_run(s);
}

int killswitch_remove(const char *dev)
{
	char s[192];

	if (!dev_ok(dev))
		return -EINVAL;
	snprintf(s, sizeof(s), "add table inet sluice_ks_%s\ndelete table inet sluice_ks_%s\n",
		 dev, dev);
	return nft_run(s);
}

int killswitch_remove_all(void)
{
	FILE *f = popen("nft list tables inet 2>/dev/null", "r");
	char line[256], dev[64];
	int rc = 0;

	if (!f)
		return -EIO;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "table inet sluice_ks_%63s", dev) == 1) {
			if (killswitch_remove(dev))
				rc = -EIO;
			else
				printf("kill switch of %s removed\n", dev);
		}
	if (pclose(f) != 0 && !rc)
		rc = -EIO;
	return rc;
}
