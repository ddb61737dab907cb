/*
 * askpass.c - owns the terminal prompts for secrets and the private key
 * passphrase (askpass.h), for both roles.
 *
 * Thread: ctrl only, at start-up (askpass_startup, before `daemon`) and
 * whenever a secret is needed later (a key loaded by tls_ctx_create, a
 * client's auth-user-pass on a reconnect with auth-nocache): a prompt then
 * blocks ctrl until the person answers, as stock's blocks its one thread;
 * the data threads keep running.
 *
 * The terminal is /dev/tty, opened for each prompt; echo is switched off
 * with TCSAFLUSH (typed-ahead input is discarded, as getpass(3) does) and
 * restored on every path. A SIGINT or SIGTERM during a start-up prompt ends
 * the process (ctrl's signalfd does not exist yet): a handler puts the
 * terminal's settings back first, then lets the signal do that. Later the
 * signals are blocked for the signalfd and wait until the prompt returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../core/log.h"
#include "askpass.h"
#include "config/options.h"

/* The private key passphrase (askpass, a prompt, or a management answer). */
static char key_pass[ASKPASS_LEN_MAX];
static bool has_key_pass;

/* The terminal whose echo is off right now, for the signal handler; -1: none. */
static volatile sig_atomic_t tty_fd_saved = -1;
static struct termios tty_saved;

static void tty_restore_on_signal(int sig)
{
	if (tty_fd_saved >= 0)
		tcsetattr(tty_fd_saved, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads one line from @fd byte by byte (a terminal hands over whole lines anyway). */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return n ? 0 : -ECANCELED;
		if (c == '\n')
			break;
		if (n + 1 >= len) {
			OPENSSL_cleanse(buf, len);
			/* Swallow the rest of the line so it does not answer the next prompt. */
			while (read(fd, &c, 1) == 1 && c != '\n')
				;
			return -EMSGSIZE;
		}
		buf[n++] = c;
	}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\r')
		buf[n - 1] = '\0';
	return 0;
}

int askpass_tty(const char *prompt, bool echo, char *buf, size_t len)
{
	struct sigaction sa = { .sa_handler = tty_restore_on_signal }, old_int, old_term;
	struct termios t;
	bool noecho = false, handlers = false;
	int fd, rc;

	if (!len)
		return -EMSGSIZE;
	buf[0] = '\0';
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENXIO || errno == ENOENT ? -ENOTTY : -errno;
	if (!echo && tcgetattr(fd, &t) == 0) {
		tty_saved = t;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		handlers = true;
		tty_fd_saved = fd;
		noecho = tcsetattr(fd, TCSAFLUSH, &t) == 0;
	}
	/* One write, as stock's console prints it: typing may answer at once. */
	if (write(fd, prompt, strlen(prompt)) < 0) {
		rc = -errno;
		goto out;
	}
	rc = read_line(fd, buf, len);
out:
	if (noecho) {
		tcsetattr(fd, TCSAFLUSH, &tty_saved);
		if (write(fd, "\n", 1) < 0)
			(void)0;	/* the line was read; a lost newline is cosmetic */
	}
	if (handlers) {
		tty_fd_saved = -1;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		OPENSSL_cleanse(&tty_saved, sizeof(tty_saved));
	}
	close(fd);
	return rc;
}

int askpass_user_pass(const char *what, char *user, size_t ulen, char *pass, size_t plen)
{
	char prompt[64];
	int rc;

	snprintf(prompt, sizeof(prompt), "Enter %s Username:", what);
	rc = askpass_tty(prompt, true, user, ulen);
	if (!rc) {
		snprintf(prompt, sizeof(prompt), "Enter %s Password:", what);
		rc = askpass_tty(prompt, false, pass, plen);
	}
	if (rc) {
		OPENSSL_cleanse(user, ulen);
		OPENSSL_cleanse(pass, plen);
	}
	return rc;
}

void askpass_key_pass_set(const char *pass)
{
	snprintf(key_pass, sizeof(key_pass), "%s", pass);
	has_key_pass = true;
}

void askpass_forget(void)
{
	OPENSSL_cleanse(key_pass, sizeof(key_pass));
	has_key_pass = false;
}

/* The first line of @path (stock reads password files the same way). */
static int file_first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		rc = ferror(f) ? -EIO : -ENODATA;
	else if (!strchr(buf, '\n') && !feof(f))
		rc = -EMSGSIZE;
	fclose(f);
	if (rc) {
		OPENSSL_cleanse(buf, len);
		return rc;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int askpass_startup(const struct options *o, char *err, size_t errlen)
{
	static char line[ASKPASS_LEN_MAX];
	int rc;

	if (!o->has_askpass)
		return 0;
	if (o->askpass_file)
		rc = file_first_line(o->askpass_file, line, sizeof(line));
	else
		rc = askpass_tty("Enter Private Key Password:", false, line, sizeof(line));
	if (rc) {
		snprintf(err, errlen, "options: askpass: cannot read the private key passphrase "
			 "from %s: %s", o->askpass_file ? o->askpass_file : "the terminal",
			 rc == -ENODATA ? "the file is empty" :
			 rc == -ENOTTY ? "no terminal (give askpass a FILE)" : strerror(-rc));
		return rc;
	}
	askpass_key_pass_set(line);
	OPENSSL_cleanse(line, sizeof(line));
	return 0;
}

int askpass_key_passphrase(void *arg, char *buf, size_t len)
{
	int rc;

	(void)arg;
	if (!has_key_pass) {
		rc = askpass_tty("Enter Private Key Password:", false, key_pass, sizeof(key_pass));
		if (rc)
			return rc == -EMSGSIZE ? rc : -ENOKEY;
		has_key_pass = true;
	}
	if (strlen(key_pass) >= len)
		return -EMSGSIZE;
	memcpy(buf, key_pass, strlen(key_pass) + 1);
	return 0;
}
