/*
 * srvauth.h - one run of `auth-user-pass-verify` for one client, without
 * blocking ctrl (OpenVPN 2.6's script and deferred authentication,
 * ssl_verify.c verify_user_pass_script):
 *
 *   exit 0   accepted
 *   exit 2   deferred: the script (or whatever it started) writes '1' or
 *            '0' into $auth_control_file later; if it wrote
 *            $auth_pending_file ("TIMEOUT\nMETHOD\nEXTRA\n"), the client is
 *            told AUTH_PENDING and INFO_PRE,EXTRA first, provided METHOD is
 *            in the client's IV_SSO list (stock refuses it otherwise)
 *   other    refused; $auth_failed_reason_file, if written, is the reason
 *            the client gets (AUTH_FAILED,<reason>, e.g. "TEMP[backoff 10]:
 *            busy")
 *
 * The script's own run is bounded (SRVAUTH_SCRIPT_MAX_NS, then SIGKILL and
 * a refusal); a deferred decision is bounded by the session's hand-window
 * (or AUTH_PENDING's timeout), which ends the session in srvsess.c.
 *
 * Thread: ctrl only. The caller polls srvauth_poll after every session run
 * and at least every SRVAUTH_POLL_NS while one is pending.
 */
#ifndef SLUICE_SRVAUTH_H
#define SLUICE_SRVAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../core/pkt.h"
#include "../../core/proto.h"

struct options;
struct srvsess;
struct srvsess_client;

#define SRVAUTH_NS_PER_SEC	1000000000LL
/* As the synchronous script had: a hung script is killed, the client refused. */
#define SRVAUTH_SCRIPT_MAX_NS	(30 * SRVAUTH_NS_PER_SEC)
/* How often a pending decision is looked at: fast enough not to be noticed. */
#define SRVAUTH_POLL_NS		(50 * 1000000LL)
#define SRVAUTH_PATH_MAX	256
#define SRVAUTH_REASON_MAX	256

enum srvauth_verdict {
	SRVAUTH_WAIT,		/* still running, or deferred */
	SRVAUTH_OK,
	SRVAUTH_FAIL,		/* reason (maybe "") in the caller's buffer */
};

struct srvauth {
	pid_t pid;			/* the script while it runs; 0 after */
	bool deferred;			/* it exited 2: the control file decides */
	int64_t started_ns;
	char cred[SRVAUTH_PATH_MAX];	/* via-file credentials; "" */
	char acf[SRVAUTH_PATH_MAX];	/* auth_control_file */
	char apf[SRVAUTH_PATH_MAX];	/* auth_pending_file */
	char afr[SRVAUTH_PATH_MAX];	/* auth_failed_reason_file */
};

/*
 * Starts the script for @cl from @src at @now_ns: writes the credentials
 * file (via-file) and creates the three control files in tmp-dir, forks and
 * execs. 0, or a negative errno (logged; nothing left behind).
 */
int srvauth_start(struct srvauth *a, const struct options *o, const struct srvsess_client *cl,
		  const union sockaddr_any *src, int64_t now_ns) __attribute__((warn_unused_result));
/*
 * What is known now. Sends AUTH_PENDING through @sess when the script asked
 * for it. On SRVAUTH_FAIL, @reason (@rlen bytes) holds the reason for the
 * client, "" for none.
 */
enum srvauth_verdict srvauth_poll(struct srvauth *a, const struct options *o,
				  struct srvsess *sess, int64_t now_ns, char *reason, size_t rlen);
/* Ends a run: kills a script still running, removes the files. Idempotent. */
void srvauth_end(struct srvauth *a);

#endif
