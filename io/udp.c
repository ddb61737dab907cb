/*
 * udp.c - opens the data-channel UDP socket. Owns nothing after return: the
 * fd is ctrl's, which hands it to a udp_rx and a udp_tx thread.
 *
 * Thread: ctrl only (setup).
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"

/* Socket buffers: 4 MiB absorbs a burst of in-flight SQEs and a scheduler hiccup. */
#define UDP_BUF_BYTES	(4 << 20)

/* Root may exceed net.core.[rw]mem_max (the *FORCE options); others get the cap. */
static void udp_buf_set(int fd, int force_opt, int opt)
{
	int v = UDP_BUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int udp_open(const union sockaddr_any *local, socklen_t local_len,
	     const union sockaddr_any *remote, socklen_t remote_len)
{
	int family, fd, rc;

	if (local && local_len)
		family = local->sa.sa_family;
	else if (remote && remote_len)
		family = remote->sa.sa_family;
	else
		return -EINVAL;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (remote && remote_len && remote->sa.sa_family != family)
		return -EAFNOSUPPORT;
	/*
	 * Blocking on purpose: on a blocking socket an armed receive that loses
	 * the race for a datagram does not complete with -EAGAIN; io_uring polls
	 * and retries it, and after a second lost race hands it to an io_uring
	 * worker that sleeps in recvmsg until a datagram comes (its completion
	 * wakes the loop at once). Either way datagrams are not reordered
	 * between the receives in flight (seen with O_NONBLOCK under TSan).
	 * An IPv6 socket keeps the system's bindv6only: a :: bind may take IPv4.
	 */
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	udp_buf_set(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	udp_buf_set(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	if (local && local_len && bind(fd, &local->sa, local_len) < 0)
		goto err;
	if (remote && remote_len && connect(fd, &remote->sa, remote_len) < 0)
		goto err;
	return fd;

err:
	rc = -errno;
	close(fd);
	return rc;
}
