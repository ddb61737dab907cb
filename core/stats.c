/*
 * stats.c - names and snapshots of the per-thread counters. Called by ctrl
 * (and tests) only; the counters themselves are written by their threads.
 */
#include <inttypes.h>

#include "stats.h"

static const char *const drop_names[DROP_MAX] = {
	[DROP_NONE] = "none",
	[DROP_RING_FULL] = "ring_full",
	[DROP_POOL_EMPTY] = "pool_empty",
	[DROP_SHORT] = "short",
	[DROP_OVERSIZE] = "oversize",
	[DROP_BAD_OPCODE] = "bad_opcode",
	[DROP_NO_KEY] = "no_key",
	[DROP_BAD_PEER] = "bad_peer",
	[DROP_AUTH] = "auth",
	[DROP_REPLAY] = "replay",
	[DROP_NO_ROUTE] = "no_route",
	[DROP_PID_EXHAUSTED] = "pid_exhausted",
	[DROP_BAD_COMP] = "bad_comp",
	[DROP_IO] = "io",
	[DROP_CRYPTO] = "crypto",
	[DROP_NO_CTRL] = "no_ctrl",
	[DROP_INBAND] = "inband",
	[DROP_BAD_SRC] = "bad_src",
	[DROP_SHUTDOWN] = "shutdown",
	[DROP_BAD_OFFLOAD] = "bad_offload",
	[DROP_LANE] = "wrong_lane",
};

const char *stats_drop_name(enum drop_reason r)
{
	if ((unsigned)r >= DROP_MAX || !drop_names[r])
		return "unknown";
	return drop_names[r];
}

void stats_accumulate(struct stats *dst, const struct stats *src)
{
	dst->rx_pkts += STAT_READ(src->rx_pkts);
	dst->rx_bytes += STAT_READ(src->rx_bytes);
	dst->tx_pkts += STAT_READ(src->tx_pkts);
	dst->tx_bytes += STAT_READ(src->tx_bytes);
	dst->ctrl_pkts += STAT_READ(src->ctrl_pkts);
	dst->ping_pkts += STAT_READ(src->ping_pkts);
	dst->occ_pkts += STAT_READ(src->occ_pkts);
	dst->wakeups += STAT_READ(src->wakeups);
	dst->lz4_compressed += STAT_READ(src->lz4_compressed);
	dst->lz4_decompressed += STAT_READ(src->lz4_decompressed);
	dst->lzo_compressed += STAT_READ(src->lzo_compressed);
	dst->lzo_decompressed += STAT_READ(src->lzo_decompressed);
	dst->super_pkts += STAT_READ(src->super_pkts);
	dst->super_segs += STAT_READ(src->super_segs);
	dst->lane_pkts += STAT_READ(src->lane_pkts);
	for (int i = 0; i < DROP_MAX; i++)
		dst->drop[i] += STAT_READ(src->drop[i]);
}

void stats_print(FILE *f, const char *prefix, const struct stats *st)
{
	fprintf(f, "%s.rx_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->rx_pkts));
	fprintf(f, "%s.rx_bytes=%" PRIu64 "\n", prefix, STAT_READ(st->rx_bytes));
	fprintf(f, "%s.tx_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->tx_pkts));
	fprintf(f, "%s.tx_bytes=%" PRIu64 "\n", prefix, STAT_READ(st->tx_bytes));
	fprintf(f, "%s.ctrl_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->ctrl_pkts));
	fprintf(f, "%s.ping_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->ping_pkts));
	fprintf(f, "%s.occ_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->occ_pkts));
	fprintf(f, "%s.wakeups=%" PRIu64 "\n", prefix, STAT_READ(st->wakeups));
	fprintf(f, "%s.lz4_compressed=%" PRIu64 "\n", prefix, STAT_READ(st->lz4_compressed));
	fprintf(f, "%s.lz4_decompressed=%" PRIu64 "\n", prefix, STAT_READ(st->lz4_decompressed));
	fprintf(f, "%s.lzo_compressed=%" PRIu64 "\n", prefix, STAT_READ(st->lzo_compressed));
	fprintf(f, "%s.lzo_decompressed=%" PRIu64 "\n", prefix, STAT_READ(st->lzo_decompressed));
	fprintf(f, "%s.super_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->super_pkts));
	fprintf(f, "%s.super_segs=%" PRIu64 "\n", prefix, STAT_READ(st->super_segs));
	fprintf(f, "%s.lane_pkts=%" PRIu64 "\n", prefix, STAT_READ(st->lane_pkts));
	for (int i = 1; i < DROP_MAX; i++)
		fprintf(f, "%s.drop.%s=%" PRIu64 "\n", prefix, stats_drop_name(i),
			STAT_READ(st->drop[i]));
}
