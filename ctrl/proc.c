/*
 * proc.c - owns the process options (ctrl/proc.h): what is refused, the log
 * sink, daemon, writepid, the postponed chdir, and dropping user/group.
 *
 * Thread: ctrl (the main thread). Order, as main.c calls it: `chroot` and
 * `kill-switch` are refused and an unknown `user`/`group` fails at once;
 * `log`/`log-append` take stdout and stderr (else `daemon` sends the log to
 * syslog), and SIGHUP reopens it (appending, for logrotate);
 * `daemon` detaches before the first thread exists, then `writepid` (the
 * file is removed on exit, as stock); once the files are read a daemon
 * without `cd` moves to /; `user`/`group` drop privileges once start-up is
 * complete (a client: after its first push is applied), keeping
 * CAP_NET_ADMIN in ctrl for later routes, as stock built with libcap-ng
 * does.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/log.h"
#include "config/options.h"
#include "proc.h"

char *proc_path_abs(const char *path)
{
	char *cwd = path[0] == '/' ? NULL : getcwd(NULL, 0);
	char *out;

	if (!cwd)
		return strdup(path);
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	free(cwd);
	return out;
}

/*
 * `log FILE` / `log-append FILE`: stdout and stderr go to the file, as
 * stock's redirect_stdout_stderr (mode 0600; a file that cannot be opened
 * is a warning, and the log stays where it was). Relative to `cd`, which
 * runcfg_load applied.
 */
static void proc_log_open(const char *path, bool append)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
	int fd = open(path, flags, S_IRUSR | S_IWUSR);

	if (fd < 0) {
		log_warn("WARNING: cannot open the log file %s", path);
		return;
	}
	/* dup2 clears O_CLOEXEC on 1 and 2: scripts log to the same file. */
	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		log_warn("WARNING: cannot send the log to %s", path);
	close(fd);
}

/* user/group are looked up now, so a typo fails at start, not after the tunnel is up. */
static int proc_ids_lookup(struct proc *p)
{
	const struct options *o = p->o;
	struct passwd *pw;
	struct group *gr;

	if (o->user) {
		pw = getpwnam(o->user);
		if (!pw) {
			log_warnx("options: user '%s' not found", o->user);
			return -ENOENT;
		}
		p->uid = pw->pw_uid;
	}
	if (o->group) {
		gr = getgrnam(o->group);
		if (!gr) {
			log_warnx("options: group '%s' not found", o->group);
			return -ENOENT;
		}
		p->gid = gr->gr_gid;
	}
	p->ids_pending = o->user || o->group;
	return 0;
}

int proc_setup(struct proc *p, const struct options *o)
{
	memset(p, 0, sizeof(*p));
	p->o = o;
	if (o->chroot) {
		log_warnx("options: chroot is not supported by sluice");
		return -ENOTSUP;
	}
	/* Refused, not ignored: a server has no tunnel of its own to fail closed to. */
	if (o->kill_switch && o->mode == OPT_MODE_SERVER) {
		log_warnx("options: kill-switch is a client option (refusing to start a server "
			  "with it)");
		return -ENOTSUP;
	}
	if (proc_ids_lookup(p))
		return -ENOENT;
	if (o->log) {
		/* Absolute: a SIGHUP after daemon's chdir("/") reopens the same file. */
		p->log_path = proc_path_abs(o->log);
		proc_log_open(o->log, o->log_append);
	} else if (o->daemon) {
		log_open_syslog(o->daemon_name ? o->daemon_name : "sluice");
	}
	return 0;
}

void proc_log_reopen(struct proc *p)
{
	if (!p->log_path)
		return;
	proc_log_open(p->log_path, true);
	log_info("SIGHUP: log file %s reopened", p->log_path);
}

/*
 * As stock's possibly_become_daemon: the directory stays until the files
 * are read (proc_chdir), stdio goes to /dev/null unless `log` holds it
 * (then only stdin does).
 */
int proc_daemonize(struct proc *p)
{
	const struct options *o = p->o;
	FILE *f;
	int fd;

	if (o->daemon) {
		if (daemon(1, o->log != NULL)) {
			log_warn("daemon() failed");
			return -errno;
		}
		fd = o->log ? open("/dev/null", O_RDWR) : -1;
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
	}
	if (!o->writepid)
		return 0;
	p->pid_path = proc_path_abs(o->writepid);
	f = p->pid_path ? fopen(p->pid_path, "w") : NULL;
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		if (!fclose(f))
			return 0;
	}
	log_warn("cannot write the pid file %s", o->writepid);
	free(p->pid_path);
	p->pid_path = NULL;	/* not ours to remove */
	return -EIO;
}

void proc_chdir(const struct proc *p)
{
	const struct options *o = p->o;

	if (o->daemon && !o->cd && chdir("/"))
		log_warn("cannot change directory to /");
}

bool proc_ids_pending(const struct proc *p)
{
	return p->ids_pending;
}

/*
 * Keeps CAP_NET_ADMIN, and nothing else, in this thread across setuid, as
 * stock does with libcap-ng: ctrl can still change addresses and routes
 * when a reconnect's push differs, and remove them on exit. Capabilities
 * belong to a thread: the data threads, which need none, lose them all.
 */
static int proc_keep_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(CAP_NET_ADMIN);

	memset(data, 0, sizeof(data));
	data[i].effective = CAP_TO_MASK(CAP_NET_ADMIN);
	data[i].permitted = CAP_TO_MASK(CAP_NET_ADMIN);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * Once start-up is complete (the TUN device, the socket, the threads, and
 * for a client the first push's addresses and routes). The caller pins the
 * status file first, while its directory is still writable.
 */
int proc_ids_drop(struct proc *p)
{
	const struct options *o = p->o;
	bool keep = false;

	p->ids_pending = false;
	if (setgroups(0, NULL)) {
		log_warn("setgroups() failed");
		return -EPERM;
	}
	if (o->group && setgid(p->gid)) {
		log_warn("setgid('%s') failed", o->group);
		return -EPERM;
	}
	if (o->group)
		log_info("GID set to %s", o->group);
	if (!o->user)
		return 0;
	keep = !prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
	if (setuid(p->uid)) {
		log_warn("setuid('%s') failed", o->user);
		return -EPERM;
	}
	log_info("UID set to %s", o->user);
	if (keep && !proc_keep_net_admin())
		log_info("Capabilities retained: CAP_NET_ADMIN");
	else
		log_warn("WARNING: cannot retain CAP_NET_ADMIN: a reconnect cannot change "
			 "addresses or routes, nor remove them on exit");
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

void proc_cleanup(struct proc *p)
{
	/* As stock: removed on exit; after user/group this may fail, silently. */
	if (p->pid_path)
		unlink(p->pid_path);
	free(p->pid_path);
	p->pid_path = NULL;
	free(p->log_path);
	p->log_path = NULL;
}
