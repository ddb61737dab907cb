/*
 * status_test.c - the totals ctrl derives from the data plane's counter
 * dump (ctrl/status.c): which keys are a lane's copy of a stage's counter,
 * and the link byte totals (`load-stats`, >BYTECOUNT, a stock client's
 * status) from dumps of one lane and of two, where each stage's sum comes
 * first and then each lane's share under "lane<k>.": every byte counted
 * once, the TUN stages never.
 */
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/status.h"
#include "harness.h"

static void lane_keys(void)
{
	static const struct { const char *key; bool lane; } t[] = {
		{ "lane0.udp_rx.rx_bytes", true },
		{ "lane1.tun_tx.drop.replay", true },
		{ "lane12.udp_socket.drop.kernel", true },
		{ "lanes=2", false },
		{ "lanes", false },
		{ "lane.udp_rx.rx_bytes", false },
		{ "laneX.udp_rx.rx_bytes", false },
		{ "lane1", false },
		{ "lane1udp_rx.rx_bytes", false },
		{ "udp_rx.rx_bytes", false },
		{ "tun_rx.lane_pkts", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(status_key_is_lane(t[i].key) == t[i].lane, "status_key_is_lane(\"%s\") != %d",
		      t[i].key, t[i].lane);
}

/* status_link_bytes over the dump @text. */
static void link_bytes(const char *text, uint64_t want_rx, uint64_t want_tx)
{
	struct status_counters sc = { .buf = strdup(text) };
	uint64_t rx = 1, tx = 1;

	REQUIRE(sc.buf, "out of memory");
	sc.len = strlen(sc.buf);
	status_link_bytes(&sc, &rx, &tx);
	CHECK_INT(rx, want_rx);
	CHECK_INT(tx, want_tx);
	status_counters_free(&sc);
}

int main(void)
{
	lane_keys();
	/* One lane: the stage keys only. */
	link_bytes("lanes=1\n"
		   "tun_rx.rx_bytes=5000\ntun_rx.tx_bytes=5000\n"
		   "udp_tx.rx_bytes=5200\nudp_tx.tx_bytes=5200\n"
		   "udp_rx.rx_bytes=7300\nudp_rx.tx_bytes=7000\n"
		   "udp_socket.drop.kernel=4\n"
		   "tun_tx.rx_bytes=7000\ntun_tx.tx_bytes=7000\n",
		   7300, 5200);
	/* Two lanes: the sums, then each lane's share; the shares must not be added again. */
	link_bytes("lanes=2\n"
		   "tun_rx.rx_bytes=5000\ntun_rx.tx_bytes=5000\n"
		   "lane0.tun_rx.rx_bytes=3000\nlane0.tun_rx.tx_bytes=3000\n"
		   "lane1.tun_rx.rx_bytes=2000\nlane1.tun_rx.tx_bytes=2000\n"
		   "udp_tx.rx_bytes=5200\nudp_tx.tx_bytes=5200\n"
		   "lane0.udp_tx.rx_bytes=3100\nlane0.udp_tx.tx_bytes=3100\n"
		   "lane1.udp_tx.rx_bytes=2100\nlane1.udp_tx.tx_bytes=2100\n"
		   "udp_rx.rx_bytes=7300\nudp_rx.tx_bytes=7000\n"
		   "lane0.udp_rx.rx_bytes=4300\nlane0.udp_rx.tx_bytes=4100\n"
		   "lane1.udp_rx.rx_bytes=3000\nlane1.udp_rx.tx_bytes=2900\n"
		   "udp_socket.drop.kernel=4\n"
		   "lane0.udp_socket.drop.kernel=1\nlane1.udp_socket.drop.kernel=3\n"
		   "tun_tx.rx_bytes=7000\ntun_tx.tx_bytes=7000\n"
		   "lane0.tun_tx.rx_bytes=4100\nlane0.tun_tx.tx_bytes=4100\n"
		   "lane1.tun_tx.rx_bytes=2900\nlane1.tun_tx.tx_bytes=2900\n",
		   7300, 5200);
	/* No data plane yet. */
	link_bytes("", 0, 0);
	return harness_done("status_test");
}
