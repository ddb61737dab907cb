/*
 * proc.h - the process options, as stock OpenVPN applies them: `chroot`
 * and `kill-switch` refused, `log`/`log-append`, `daemon`, `writepid`,
 * `user`/`group` (dropped once start-up is complete, keeping CAP_NET_ADMIN
 * for ctrl), the daemon's postponed chdir("/"), the log reopened on SIGHUP,
 * and the warnings for options parsed but not acted on. ctrl only, before the
 * data threads exist unless said otherwise.
 */
#ifndef SLUICE_PROC_H
#define SLUICE_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct options;

struct proc {
	const struct options *o;
	char *pid_path;			/* writepid, absolute; removed on exit as stock */
	char *log_path;			/* log / log-append, absolute (SIGHUP reopens it) */
	bool ids_pending;		/* user/group: drop once start-up is complete */
	uid_t uid;
	gid_t gid;
};

/*
 * Before the first thread and the TUN device: what the configuration
 * refuses (chroot, kill-switch) and unknown user/group names fail here, on
 * the terminal like a parse error; then the log moves to `log` or syslog.
 */
int proc_setup(struct proc *p, const struct options *o);
/*
 * SIGHUP: `log`/`log-append` FILE is opened again, appending (logrotate
 * moved the old one away); a file that cannot be opened keeps the old one.
 */
void proc_log_reopen(struct proc *p);
/* `daemon` (before any thread exists: fork keeps only the caller), then `writepid`. */
int proc_daemonize(struct proc *p);
/* `daemon` without `cd`: chdir("/") once every file was read. */
void proc_chdir(const struct proc *p);
/* True while user/group are configured and not dropped yet. */
bool proc_ids_pending(const struct proc *p);
/*
 * user/group now (any thread may run: glibc applies setuid/setgid to all),
 * keeping CAP_NET_ADMIN in the calling thread only. -EPERM, logged.
 */
int proc_ids_drop(struct proc *p);
/* On exit: the pid file removed (after user/group this may fail, silently). */
void proc_cleanup(struct proc *p);

/* @path against the current directory, so daemon's later chdir("/") keeps it; NULL: ENOMEM. */
char *proc_path_abs(const char *path);

#endif
