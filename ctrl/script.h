/*
 * script.h - runs the user's --up/--down commands with OpenVPN's arguments and
 * environment, and hands pushed DNS settings to the system (ctrl only).
 */
#ifndef SLUICE_SCRIPT_H
#define SLUICE_SCRIPT_H

#include <stdbool.h>

struct options;

struct script_ctx {
	const char *dev;		/* tun device name */
	int tun_mtu;
	const char *remote_ip;		/* the server's address (trusted_ip) */
	unsigned int remote_port;
};

/*
 * Runs @cmd ("up" or "down" in @type) as OpenVPN 2.6 does: the command line is
 * split on blanks (no shell), then gets "dev tun_mtu 0 ifconfig_local
 * ifconfig_remote|netmask init", and the environment carries dev, tun_mtu,
 * ifconfig_*, route_vpn_gateway, foreign_option_N (pushed dhcp-option),
 * script_type and the setenv values. Needs script-security >= 2. Returns 0
 * or a negative errno / the positive exit status.
 */
int script_run(const struct options *o, const char *type, const char *cmd,
	       const struct script_ctx *sc);
/*
 * Applies pushed dhcp-option DNS/DOMAIN: through an up script if one runs,
 * else systemd-resolved (resolvectl), else resolvconf, else says plainly in
 * the log that they were not applied. Never a silent no-op.
 */
void script_dns_apply(const struct options *o, const struct script_ctx *sc, bool up_script_ran);
/* Undoes script_dns_apply (resolvconf -d / resolvectl revert). */
void script_dns_remove(const struct options *o, const struct script_ctx *sc);

#endif
