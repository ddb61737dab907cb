/*
 * status.h - ctrl's one source of state and counters for people and tools:
 * the status file, SIGUSR2's dump to the log, and later the management
 * interface's `status` / `state` and a metrics endpoint, which call
 * status_write on a memory stream. ctrl only.
 *
 * Formats (tests parse them: change none of them without the tests):
 *   STATUS_FMT_KV         key=value lines: state=..., ctrl.*, the mode's counters
 *                         (a client's session), then every data-plane stage.counter
 *   STATUS_FMT_OVPN_V1..3 OpenVPN's status-version 1, 2 (CSV) and 3 (tab-separated):
 *                         the server's CLIENT_LIST and ROUTING_TABLE; 2 and 3 add
 *                         sluice's GLOBAL_STATS counters
 *   STATUS_FMT_DATAPLANE  the data plane's stage.counter=value lines only
 *   STATUS_FMT_OVPN_STATS a stock client's "OpenVPN STATISTICS" (the management
 *                         interface's `status` in client mode)
 */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct mode_ops;
struct pipeline;

enum status_fmt {
	STATUS_FMT_KV,
	STATUS_FMT_OVPN_V1,
	STATUS_FMT_OVPN_V2,
	STATUS_FMT_OVPN_V3,
	STATUS_FMT_DATAPLANE,
	STATUS_FMT_OVPN_STATS,
};

/* What a status is made of; main.c fills it in. */
struct status_src {
	const struct mode_ops *ops;	/* the mode's write_status and state */
	void *mode;
	struct pipeline *pl;		/* NULL: not built yet, nothing to report */
	uint64_t ctrl_pkts;		/* control datagrams udp_rx handed to ctrl */
	uint64_t inband_pkts;		/* in-band messages tun_tx handed to ctrl */
	bool is_stopping;		/* the process is exiting: state EXITING */
};

struct chan;
struct conn_info;

/*
 * The primary key's id, since when it is active and when our next
 * renegotiation is due (reneg-sec), from the control channel @ch, into
 * @ci (wall clock; monotonic @now_ns converts). Nothing while no key is.
 */
void status_key_info(struct conn_info *ci, const struct chan *ch, int64_t now_ns);
/* Writes @src in @fmt to @f. */
void status_write(const struct status_src *src, enum status_fmt fmt, FILE *f);
/*
 * The data plane's counters ("tun_rx.rx_pkts", "udp_rx.drop.replay", ...)
 * read once, for lookups by name: the management interface, metrics and
 * `sluice status` share pipeline_write_stats' one format.
 */
struct status_counters {
	char *buf;			/* the "name=value" lines; NULL: no data plane */
	size_t len;
};
/* 0, or -ENOMEM / -ENODEV (no data plane yet: every counter reads 0). */
int status_counters_read(const struct status_src *src, struct status_counters *sc);
/* The value of @name, 0 when there is none. */
uint64_t status_counter_get(const struct status_counters *sc, const char *name);
/*
 * Is @key a lane's copy of a stage's counter ("lane1.udp_rx.rx_bytes")? A
 * data plane of several lanes prints each stage's sum, then each lane's
 * share under "lane<k>."; totals must take the sum only.
 */
bool status_key_is_lane(const char *key);
/* The link's bytes both ways (every link stage, each lane once; the TUN stages are not links). */
void status_link_bytes(const struct status_counters *sc, uint64_t *rx, uint64_t *tx);
/* Calls @fn for every counter, in the data plane's order. */
void status_counters_each(const struct status_counters *sc,
			  void (*fn)(void *arg, const char *name, uint64_t v), void *arg);
void status_counters_free(struct status_counters *sc);

/* SIGUSR2 and exit: every data-plane counter that is not 0, one "stats: " log line each. */
void status_log(const struct status_src *src);
/*
 * The status file's format: OpenVPN's status-version @version (1, 2 or 3;
 * anything else is 1) if the mode writes OpenVPN's status, else key=value.
 */
enum status_fmt status_file_fmt(const struct mode_ops *ops, unsigned int version);

/*
 * The `status FILE [N]` (main.c rewrites it every N seconds, stock's default
 * 60, and at exit; N 0: only at exit). Until
 * status_file_pin a new file is renamed over the old one, so a reader never
 * sees half of it; after it (user/group dropped the privileges, and the
 * directory may not be writable) the file opened then is rewritten in place,
 * as stock does, so a reader may see the old tail for a moment.
 */
struct status_file {
	char *path;			/* absolute (daemon's chdir("/")); NULL: no file */
	int fd;				/* after status_file_pin; -1 before */
	enum status_fmt fmt;
	unsigned int interval_s;
	int64_t next_ns;		/* the next periodic rewrite (monotonic) */
};

/* @path NULL: no status file. Relative paths are taken against the current directory. */
int status_file_init(struct status_file *sf, const char *path, enum status_fmt fmt,
		     unsigned int interval_s);
/* Opens the file now, while its directory is still writable (before user/group). */
void status_file_pin(struct status_file *sf);
/* Writes @src (nothing while src->pl is NULL); failures are logged, not returned. */
void status_file_write(struct status_file *sf, const struct status_src *src);
/* Once a second: status_file_write when the interval is up (the first time at once). */
void status_file_tick(struct status_file *sf, const struct status_src *src, int64_t now_ns);
void status_file_close(struct status_file *sf);

#endif
