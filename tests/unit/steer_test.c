/*
 * steer_test.c - tests for a UDP server's lane sockets (io/udp.c):
 * udp_open_reuseport and udp_reuseport_steer, on 127.0.0.1 as io_test's
 * loopback links (no root; nothing is configured on the host's network).
 *
 * For groups of 2 and 4 sockets bound to one port: P_DATA_V2 datagrams of
 * peer-ids 0..7 and a few large ones, sent from three source ports, each
 * arrive on socket peer-id % n and nowhere else; a control packet (a
 * P_CONTROL_HARD_RESET_CLIENT_V2) and a P_DATA_V1 arrive on exactly one
 * socket (the kernel's hash picks it); a 2-byte P_DATA_V2 and an empty
 * datagram end the program early, which sends them to socket 0. Then the
 * argument checks.
 *
 * Exit 0 pass, 1 fail, 77 skip (a kernel without SO_ATTACH_REUSEPORT_CBPF).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/proto.h"
#include "../../io/io.h"
#include "harness.h"

#define SENDERS	3

/* A port free on 127.0.0.1 now: a plain socket's, closed again. */
static uint16_t free_port(void)
{
	union sockaddr_any a = { .in4 = { .sin_family = AF_INET } };
	socklen_t len = sizeof(a.in4);
	uint16_t port;
	int fd;

	a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = udp_open(&a, sizeof(a.in4), NULL, 0);
	REQUIRE(fd >= 0, "udp_open: %s", strerror(-fd));
	REQUIRE(!getsockname(fd, &a.sa, &len), "getsockname");
	port = ntohs(a.in4.sin_port);
	close(fd);
	return port;
}

/* The index of the one socket of @fds that got a datagram (its length in *@len), or -1. */
static int recv_one(const int *fds, unsigned int n, ssize_t *len)
{
	struct pollfd pf[IO_LANES_MAX];
	uint8_t buf[256];
	int got = -1;

	for (unsigned int i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	if (poll(pf, n, 2000) <= 0)
		return -1;
	/* Loopback delivers at send time: whatever else arrived is there by now. */
	for (unsigned int i = 0; i < n; i++) {
		ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0)
			continue;
		if (got >= 0)
			return -2;	/* on two sockets */
		got = (int)i;
		*len = r;
		CHECK(recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) < 0, "a second datagram");
	}
	return got;
}

static void send_to(int fd, const union sockaddr_any *dst, const uint8_t *buf, size_t len)
{
	REQUIRE(sendto(fd, buf, len, 0, &dst->sa, sizeof(dst->in4)) == (ssize_t)len, "sendto");
}

/* One group of @n sockets; returns false if the kernel refused the program. */
static bool test_group(unsigned int n)
{
	static const uint32_t big[] = { 0x123456, 0xfffffe, PEER_ID_NONE, 1021 };
	union sockaddr_any dst = { .in4 = { .sin_family = AF_INET } };
	int fds[IO_LANES_MAX], snd[SENDERS], err;
	uint8_t pkt[40] = { 0 };
	ssize_t len = 0;

	dst.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.in4.sin_port = htons(free_port());
	for (unsigned int i = 0; i < n; i++) {
		fds[i] = udp_open_reuseport(&dst, sizeof(dst.in4));
		REQUIRE(fds[i] >= 0, "udp_open_reuseport %u: %s", i, strerror(-fds[i]));
	}
	err = udp_reuseport_steer(fds[0], n);
	if (err == -ENOPROTOOPT || err == -EOPNOTSUPP) {
		for (unsigned int i = 0; i < n; i++)
			close(fds[i]);
		return false;
	}
	CHECK(err == 0, "udp_reuseport_steer(%u): %s", n, strerror(-err));
	for (unsigned int i = 0; i < SENDERS; i++) {
		snd[i] = udp_open(NULL, 0, &dst, sizeof(dst.in4));
		REQUIRE(snd[i] >= 0, "sender");
	}
	for (uint32_t k = 0; k < 8 + ARRAY_SIZE(big); k++) {
		uint32_t id = k < 8 ? k : big[k - 8];

		pkt[0] = (uint8_t)(P_DATA_V2 << P_OPCODE_SHIFT | (k & P_KEY_ID_MASK));
		pkt[1] = (uint8_t)(id >> 16), pkt[2] = (uint8_t)(id >> 8), pkt[3] = (uint8_t)id;
		send_to(snd[k % SENDERS], &dst, pkt, sizeof(pkt));
		err = recv_one(fds, n, &len);
		CHECK(err == (int)(id % n), "n %u peer-id %u: socket %d, want %u", n, id, err,
		      id % n);
		CHECK(err < 0 || len == sizeof(pkt), "length %zd", len);
	}
	/* Not P_DATA_V2: the kernel's hash, one socket. */
	pkt[0] = P_CONTROL_HARD_RESET_CLIENT_V2 << P_OPCODE_SHIFT;
	for (unsigned int i = 0; i < SENDERS; i++) {
		send_to(snd[i], &dst, pkt, sizeof(pkt));
		err = recv_one(fds, n, &len);
		CHECK(err >= 0, "n %u control packet from sender %u: %d", n, i, err);
	}
	pkt[0] = P_DATA_V1 << P_OPCODE_SHIFT;
	send_to(snd[0], &dst, pkt, sizeof(pkt));
	CHECK(recv_one(fds, n, &len) >= 0, "n %u P_DATA_V1", n);
	/* Too short for the word load (and empty): the program ends with 0. */
	pkt[0] = P_DATA_V2 << P_OPCODE_SHIFT;
	pkt[1] = 1;
	send_to(snd[1], &dst, pkt, 2);
	err = recv_one(fds, n, &len);
	CHECK(err == 0 && len == 2, "n %u 2-byte P_DATA_V2: socket %d length %zd", n, err, len);
	send_to(snd[2], &dst, pkt, 0);
	err = recv_one(fds, n, &len);
	CHECK(err == 0 && len == 0, "n %u empty datagram: socket %d length %zd", n, err, len);
	for (unsigned int i = 0; i < SENDERS; i++)
		close(snd[i]);
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
	return true;
}

int main(void)
{
	union sockaddr_any a = { .in4 = { .sin_family = AF_INET } };
	int fd;

	if (!test_group(2))
		harness_skip("steer_test: SO_ATTACH_REUSEPORT_CBPF refused by this kernel");
	(void)test_group(4);
	/* Argument checks. */
	CHECK_INT(udp_open_reuseport(NULL, 0), -EINVAL);
	a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = udp_open_reuseport(&a, sizeof(a.in4));
	REQUIRE(fd >= 0, "udp_open_reuseport port 0");
	CHECK_INT(udp_reuseport_steer(fd, 0), -EINVAL);
	CHECK_INT(udp_reuseport_steer(fd, IO_LANES_MAX + 1), -EINVAL);
	CHECK_INT(udp_reuseport_steer(fd, 1), 0);
	close(fd);
	CHECK_INT(udp_reuseport_steer(-1, 2), -EBADF);
	return harness_done("steer_test");
}
