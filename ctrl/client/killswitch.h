/*
 * killswitch.h - fail-closed (`kill-switch`) and `block-ipv6` through an
 * nftables table of sluice's own per tunnel device (killswitch.c). ctrl only.
 */
#ifndef SLUICE_KILLSWITCH_H
#define SLUICE_KILLSWITCH_H

#include <stdbool.h>
#include <stddef.h>

#include "../../core/pkt.h"

/*
 * Puts table "inet sluice_ks_@dev" in place (replacing it atomically):
 * with @kill_switch only loopback, @dev and UDP to @servers (address and
 * port) may leave; with @block_ipv6 no IPv6 leaves but to an IPv6 server.
 * 0, -EINVAL (a device name nft cannot take), -ENOSPC or -EIO (nft failed
 * or is missing).
 */
int killswitch_apply(const char *dev, const union sockaddr_any *servers, size_t n_servers,
		     bool kill_switch, bool block_ipv6);
/* Removes the table of @dev. 0 or -EIO. */
int killswitch_remove(const char *dev);
/* Removes every sluice_ks_* table (`sluice --kill-switch-off`). 0, or -EIO. */
int killswitch_remove_all(void);

#endif
