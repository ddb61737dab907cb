/*
 * handover.h - moves one peer's data keys in the data plane as its control
 * channel renegotiates, for both roles: installs new keys, picks the send
 * key, holds our next renegotiation and retires old keys by the policy of
 * keysel.h, reading what the data plane saw the peer send.
 *
 * The caller (ctrl/client/client.c, ctrl/server/server*.c) installs the
 * first key itself, then calls handover_install for every key (first one
 * included) and handover_tick after each run of the session. ctrl only.
 *
 * Tests only: the OpenVPN 3 core's own hand-over (no follow, no hold): the
 * new key is sent on become-primary after it is ready, and a soft reset
 * from the peer before that throws the unpromoted key away; the old
 * primary decrypts until the next soft reset. sluice's client runs it with
 * `test-reneg-ovpn3`, as the test peer of the renegotiation tests.
 */
#ifndef SLUICE_HANDOVER_H
#define SLUICE_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "keysel.h"

struct chan;
struct pipeline;

struct handover {
	struct keysel ks;
	struct pipeline *pl;
	uint32_t peer;			/* the data plane's peer id */
	uint8_t tx;			/* the key_id the data plane sends with */
	bool has_tx;
	bool holding;			/* our renegotiation waits (logged once) */
	int64_t hold_max_ns;		/* longest hold after a new key (3 x hand-window) */
	int64_t tran_ns;		/* tran-window */
	/* OpenVPN 3 core style (tests). */
	bool ovpn3;
	int64_t become_primary_ns;
	int o3_secondary;		/* ready, not promoted: key_id, or -1 */
	int o3_old;			/* demoted primary, decrypt only: key_id, or -1 */
	int64_t o3_promote_ns;
	int o3_seen_nxt;		/* the peer's soft reset we acted on: key_id, or -1 */
};

/*
 * @hand_window_s, @tran_window_s: the options (0: stock defaults);
 * @ovpn3_reneg_sec: OpenVPN 3 style with this reneg-sec (become-primary is
 * min(hand-window, reneg-sec / 2)); 0 for sluice's own policy.
 */
void handover_init(struct handover *h, struct pipeline *pl, uint32_t peer,
		   unsigned int hand_window_s, unsigned int tran_window_s,
		   unsigned int ovpn3_reneg_sec);
/* Key @key_id was installed in the data plane at @now_ns: maybe send with it. */
void handover_install(struct handover *h, uint8_t key_id, int64_t now_ns);
/* After each run of the session @ch: send key, renegotiation hold, retirement. */
void handover_tick(struct handover *h, struct chan *ch, int64_t now_ns, const char *tag);
/* The data plane's peer is gone (reconnect): forget every key. */
void handover_reset(struct handover *h);

#endif
