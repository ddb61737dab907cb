/*
 * sdnotify.h - systemd's readiness, status and watchdog notifications
 * (ctrl/sdnotify.c), for Type=notify units. Every call does nothing when
 * $NOTIFY_SOCKET is not set. ctrl only.
 */
#ifndef SLUICE_SDNOTIFY_H
#define SLUICE_SDNOTIFY_H

#include <stdint.h>

/* Reads $NOTIFY_SOCKET and $WATCHDOG_USEC/_PID; READY=1 and STATUS= follow the states. */
void sdnotify_init(void);
/* Once a second: WATCHDOG=1 when due. */
void sdnotify_tick(int64_t now_ns);
/* At exit: STOPPING=1. */
void sdnotify_stopping(void);

#endif
