/*
 * srvauth.c - owns the runs of `auth-user-pass-verify` (srvauth.h): the
 * credentials file, the three deferred-authentication files, the child
 * with OpenVPN's environment, and reading the outcome without waiting.
 *
 * Thread: ctrl only (fork/exec from ctrl; the data threads are untouched by
 * the child, which execs at once). Timers: the script's own run bound
 * (SRVAUTH_SCRIPT_MAX_NS); the caller polls every SRVAUTH_POLL_NS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../core/log.h"
#include "../config/config.h"
#include "../config/options.h"
#include "srvauth.h"
#include "srvsess.h"

/* A line of the auth pending file: stock reads at most 1024 bytes of each. */
#define CTLMSG_LINE_MAX	1024

/* IV_* and UV_* peer-info lines become environment variables, as stock does. */
static void env_set_peer_info(const char *pi)
{
	char line[256];

	while (pi && *pi) {
		size_t n = strcspn(pi, "\n");
		char *eq;

		if (n < sizeof(line)) {
			memcpy(line, pi, n);
			line[n] = 0;
			eq = strchr(line, '=');
			if (eq && (!strncmp(line, "IV_", 3) || !strncmp(line, "UV_", 3))) {
				*eq = 0;
				setenv(line, eq + 1, 1);
			}
		}
		pi += n;
		if (*pi)
			pi++;
	}
}

/* Child side: environment as OpenVPN sets it for user-pass-verify, then exec. */
static void __attribute__((noreturn))
auth_child(const struct options *o, const struct srvsess_client *cl,
	   const union sockaddr_any *src, const struct srvauth *a)
{
	char ip[64] = "", port[8] = "", *argv[CONFIG_PARMS_MAX + 2];
	static char cmd[1024];	/* the child's own copy after fork */
	int argc = 0;

	if (src->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &src->in4.sin_addr, ip, sizeof(ip));
		snprintf(port, sizeof(port), "%u", ntohs(src->in4.sin_port));
	} else if (src->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &src->in6.sin6_addr, ip, sizeof(ip));
		snprintf(port, sizeof(port), "%u", ntohs(src->in6.sin6_port));
	}
	setenv("script_type", "user-pass-verify", 1);
	setenv("common_name", cl->common_name, 1);
	setenv("username", cl->username, 1);
	setenv("untrusted_ip", ip, 1);
	setenv("untrusted_port", port, 1);
	setenv("auth_control_file", a->acf, 1);
	setenv("auth_pending_file", a->apf, 1);
	setenv("auth_failed_reason_file", a->afr, 1);
	if (!a->cred[0])
		setenv("password", cl->password, 1);
	/* auth-gen-token (add_session_token_env): new, continued or refused session. */
	if (cl->session_state)
		setenv("session_state", cl->session_state, 1);
	if (cl->session_id && *cl->session_id)
		setenv("session_id", cl->session_id, 1);
	env_set_peer_info(cl->peer_info);
	/* The command is split on blanks, as OpenVPN's argv parser does; no shell. */
	snprintf(cmd, sizeof(cmd), "%s", o->auth_user_pass_verify);
	for (char *t = strtok(cmd, " \t"); t && argc < CONFIG_PARMS_MAX; t = strtok(NULL, " \t"))
		argv[argc++] = t;
	if (a->cred[0])
		argv[argc++] = (char *)a->cred;
	argv[argc] = NULL;
	if (argc)
		execv(argv[0], argv);
	_exit(127);
}

/* An empty 0600 file named from @tag in tmp-dir (stock's platform_create_temp_file). */
static int tmp_file(const struct options *o, const char *tag, char *path, size_t len,
		    const char *text)
{
	const char *dir = o->tmp_dir ? o->tmp_dir : getenv("TMPDIR");
	ssize_t n = text ? (ssize_t)strlen(text) : 0;
	int fd;

	snprintf(path, len, "%s/sluice-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
	fd = mkstemp(path);
	if (fd < 0) {
		path[0] = '\0';
		return -errno;
	}
	if (n && write(fd, text, (size_t)n) != n) {
		close(fd);
		unlink(path);
		path[0] = '\0';
		return -EIO;
	}
	close(fd);
	return 0;
}

static void unlink_clear(char *path)
{
	if (path[0])
		unlink(path);
	path[0] = '\0';
}

void srvauth_end(struct srvauth *a)
{
	int status;

	if (a->pid > 0) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &status, 0);
	}
	a->pid = 0;
	a->deferred = false;
	unlink_clear(a->cred);
	unlink_clear(a->acf);
	unlink_clear(a->apf);
	unlink_clear(a->afr);
}

int srvauth_start(struct srvauth *a, const struct options *o, const struct srvsess_client *cl,
		  const union sockaddr_any *src, int64_t now_ns)
{
	static char up[2 * 512 + 4];	/* ctrl only; cleansed after use */
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if (o->auth_user_pass_verify_via_file) {
		snprintf(up, sizeof(up), "%s\n%s\n", cl->username, cl->password);
		rc = tmp_file(o, "auth", a->cred, sizeof(a->cred), up);
		OPENSSL_cleanse(up, sizeof(up));
	}
	rc = rc ?: tmp_file(o, "acf", a->acf, sizeof(a->acf), NULL);
	rc = rc ?: tmp_file(o, "apf", a->apf, sizeof(a->apf), NULL);
	rc = rc ?: tmp_file(o, "afr", a->afr, sizeof(a->afr), NULL);
	if (rc) {
		errno = -rc;
		log_warn("auth-user-pass-verify: cannot create its files in %s",
			 o->tmp_dir ? o->tmp_dir : "the temporary directory");
		srvauth_end(a);
		return rc;
	}
	a->started_ns = now_ns;
	a->pid = fork();
	if (a->pid == 0)
		auth_child(o, cl, src, a);
	if (a->pid < 0) {
		rc = -errno;
		log_warn("auth-user-pass-verify: cannot run '%s'", o->auth_user_pass_verify);
		a->pid = 0;
		srvauth_end(a);
		return rc;
	}
	return 0;
}

/* The first line of @path, without its line end; "" when empty or missing. */
static void first_line(const char *path, char *out, size_t len)
{
	FILE *f = path[0] ? fopen(path, "r") : NULL;

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
}

/* True if @method is one of the client's IV_SSO=a,b,c methods. */
static bool sso_has(const char *peer_info, const char *method)
{
	const char *p = strstr(peer_info, "IV_SSO=");
	size_t n = strlen(method);

	if (!p || (p != peer_info && p[-1] != '\n') || !n)
		return false;
	for (p += 7; *p && *p != '\n';) {
		size_t m = strcspn(p, ",\n");

		if (m == n && !strncmp(p, method, n))
			return true;
		p += m;
		if (*p == ',')
			p++;
	}
	return false;
}

/*
 * The script exited 2 and may have asked for AUTH_PENDING
 * ("TIMEOUT\nMETHOD\nEXTRA\n", stock's key_state_check_auth_pending_file).
 * Returns false when the request is bad or the method is not the client's
 * (the reason is then in @reason).
 */
static bool pending_request(struct srvauth *a, struct srvsess *sess, char *reason, size_t rlen)
{
	const struct srvsess_client *cl = srvsess_client(sess);
	static char lines[3][CTLMSG_LINE_MAX];	/* ctrl only */
	FILE *f = fopen(a->apf, "r");
	unsigned long tmo;
	int n = 0;

	if (!f)
		return true;
	memset(lines, 0, sizeof(lines));
	while (n < 3 && fgets(lines[n], sizeof(lines[n]), f)) {
		lines[n][strcspn(lines[n], "\r\n")] = '\0';
		n++;
	}
	fclose(f);
	unlink_clear(a->apf);
	if (n == 0)
		return true;	/* nothing asked: the decision just comes later */
	tmo = n == 3 ? strtoul(lines[0], NULL, 10) : 0;
	if (!tmo) {
		log_warnx("auth-user-pass-verify: the auth pending file needs three lines "
			  "(timeout, method, extra) and a timeout > 0");
		return false;
	}
	if (!sso_has(cl->peer_info, lines[1])) {
		snprintf(reason, rlen, "Authentication failed, required pending auth method "
			 "'%s' not supported", lines[1]);
		log_info("Client does not support auth pending method '%s'", lines[1]);
		return false;
	}
	return srvsess_auth_pending(sess, (unsigned int)MIN(tmo, 86400ul), lines[2]) == 0;
}

enum srvauth_verdict srvauth_poll(struct srvauth *a, const struct options *o,
				  struct srvsess *sess, int64_t now_ns, char *reason, size_t rlen)
{
	char ctl[8];
	int status;
	pid_t r;

	reason[0] = '\0';
	if (a->pid > 0) {
		r = waitpid(a->pid, &status, WNOHANG);
		if (r == 0 && now_ns - a->started_ns < SRVAUTH_SCRIPT_MAX_NS)
			return SRVAUTH_WAIT;
		if (r == 0) {
			log_warnx("auth-user-pass-verify: script timed out after %lld s",
				  (long long)(SRVAUTH_SCRIPT_MAX_NS / SRVAUTH_NS_PER_SEC));
			return SRVAUTH_FAIL;
		}
		a->pid = 0;
		unlink_clear(a->cred);
		if (r < 0 || !WIFEXITED(status) || (WEXITSTATUS(status) != 0 &&
						     WEXITSTATUS(status) != 2)) {
			first_line(a->afr, reason, rlen);
			return SRVAUTH_FAIL;
		}
		if (WEXITSTATUS(status) == 0)
			return SRVAUTH_OK;
		a->deferred = true;
		log_info("auth-user-pass-verify: deferred, waiting for %s", a->acf);
		if (!pending_request(a, sess, reason, rlen))
			return SRVAUTH_FAIL;
	}
	if (!a->deferred)
		return SRVAUTH_FAIL;
	first_line(a->acf, ctl, sizeof(ctl));
	if (ctl[0] == '1')
		return SRVAUTH_OK;
	if (ctl[0] == '0') {
		first_line(a->afr, reason, rlen);
		return SRVAUTH_FAIL;
	}
	(void)o;
	return SRVAUTH_WAIT;
}
