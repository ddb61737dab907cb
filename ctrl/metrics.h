/*
 * metrics.h - a Prometheus text endpoint (sluice's `metrics ADDR PORT`):
 * plain HTTP/1.0, `GET /metrics`, answered by ctrl from the same sources as
 * the status file and `sluice status` (ctrl/status.h), on non-blocking
 * sockets in ctrl's epoll set. Thread: ctrl only.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/compiler.h"

struct metrics;
struct options;
struct status_src;

/* At most this many scrapes at once; a request is at most 4 KiB and 5 s. */
#define METRICS_CONNS_MAX	8

/*
 * Listens as @o's `metrics` says (none: *@out NULL, 0) and adds the socket
 * to @ep_fd (data.fd = the fd). @src/@arg give the status sources at each
 * scrape. 0, or a negative errno (logged).
 */
int metrics_create(struct metrics **out, const struct options *o,
		   const struct status_src *(*src)(void *arg), void *arg, int ep_fd) __must_check;
/* True if @fd is the endpoint's (and the event was handled). */
bool metrics_on_event(struct metrics *mx, int fd, uint32_t events);
/* Once a second: scrapes that stalled past their deadline are closed. */
void metrics_tick(struct metrics *mx, int64_t now_ns);
void metrics_free(struct metrics *mx);

#endif
