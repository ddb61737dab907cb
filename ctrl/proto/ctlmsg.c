/*
 * ctlmsg.c - owns the parser and builders of control-channel text commands
 * (openvpn-wire.md §9).
 *
 * Threads: ctrl only. Input is untrusted plaintext of the peer's TLS stream
 * (fuzzed by tests/fuzz/fuzz_ctlmsg.c). Pure: classification only; acting on
 * a command (applying a PUSH_REPLY, reconnecting) is the session's job.
 *
 * Splitting follows 2.6.22's extract_command_buffer: commands end at NUL,
 * trailing '\r', '\n' and NUL are stripped, and a command with any other
 * byte below 0x20 or 0x7f (or an unterminated tail) is dropped. Bytes >= 0x80
 * pass (UTF-8). One difference, stricter: OpenVPN matches command words as
 * prefixes ("RESTARTxyz" restarts); here a command word must end the text or
 * be followed by ',' and anything else is CTLMSG_UNKNOWN.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "ctlmsg.h"

void ctlmsg_iter_init(struct ctlmsg_iter *it, char *buf, size_t len)
{
	it->p = buf;
	it->left = buf ? len : 0;
}

static bool is_ctl_char(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_crlf(char c)
{
	return c == '\r' || c == '\n';
}

/* "backoff N" or "advance no|remote|addr"; unknown flags are ignored. */
static void temp_flag(struct ctlmsg *m, const char *f, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (len > 8 && !memcmp(f, "backoff ", 8)) {
		for (i = 8; i < len && f[i] >= '0' && f[i] <= '9' && v <= UINT_MAX; i++)
			v = v * 10 + (unsigned long)(f[i] - '0');
		m->temp_backoff = (i == len && v <= UINT_MAX) ? (unsigned int)v : 0;
	} else if (len == 10 && !memcmp(f, "advance no", 10)) {
		m->temp_advance = CTLMSG_ADVANCE_NO;
	} else if (len == 14 && !memcmp(f, "advance remote", 14)) {
		m->temp_advance = CTLMSG_ADVANCE_REMOTE;
	} else if (len == 12 && !memcmp(f, "advance addr", 12)) {
		m->temp_advance = CTLMSG_ADVANCE_ADDR;
	}
}

/* @reason = after "AUTH_FAILED,". TEMP[flags]:message keeps only the message. */
static void parse_auth_failed(struct ctlmsg *m, char *reason)
{
	char *p, *end, *comma;

	m->arg = reason;
	if (strncmp(reason, "TEMP", 4))
		return;
	m->is_temp = true;
	p = reason + 4;
	if (*p == '[' && (end = strchr(p, ']'))) {
		for (p++; p < end; p = comma + 1) {
			comma = memchr(p, ',', (size_t)(end - p));
			if (!comma)
				comma = end;
			temp_flag(m, p, (size_t)(comma - p));
		}
		p = end + 1;
	}
	m->arg = *p == ':' ? p + 1 : "";
}

/* RESTART/HALT: "[flags]message"; P keeps auth, N advances to the next remote. */
static void parse_signal(struct ctlmsg *m, char *msg)
{
	char *p;

	m->arg = msg;
	if (*msg != '[')
		return;
	for (p = msg + 1; *p && *p != ']'; p++) {
		if (*p == 'P')
			m->keep_auth = true;
		else if (*p == 'N')
			m->next_remote = true;
	}
	m->arg = *p ? p + 1 : p;
}

/* AUTH_PENDING keywords, ','-separated; "timeout N" is the only one defined. */
static void parse_pending(struct ctlmsg *m, char *kw)
{
	const char *p = kw, *end;
	unsigned long v;
	size_t i, len;

	m->arg = kw;
	while (*p) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > 8 && len <= 8 + 10 && !memcmp(p, "timeout ", 8)) {
			for (v = 0, i = 8; i < len && p[i] >= '0' && p[i] <= '9'; i++)
				v = v * 10 + (unsigned long)(p[i] - '0');
			if (i == len && v <= UINT_MAX) {
				m->has_timeout = true;
				m->timeout = (unsigned int)v;
			}
		}
		p = end ? end + 1 : p + len;
	}
}

static const struct {
	const char *word;
	enum ctlmsg_type type;
} commands[] = {
	{ "PUSH_REQUEST", CTLMSG_PUSH_REQUEST },
	{ "PUSH_REPLY", CTLMSG_PUSH_REPLY },
	{ "AUTH_FAILED", CTLMSG_AUTH_FAILED },
	{ "AUTH_PENDING", CTLMSG_AUTH_PENDING },
	{ "RESTART", CTLMSG_RESTART },
	{ "HALT", CTLMSG_HALT },
	{ "INFO_PRE", CTLMSG_INFO_PRE },
	{ "INFO", CTLMSG_INFO },
	{ "CR_RESPONSE", CTLMSG_CR_RESPONSE },
	{ "EXIT", CTLMSG_EXIT },
};

static void classify(struct ctlmsg *m, char *text)
{
	size_t i, n;
	char *arg;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		n = strlen(commands[i].word);
		if (strncmp(text, commands[i].word, n) || (text[n] && text[n] != ','))
			continue;
		arg = text[n] ? text + n + 1 : text + n;
		m->type = commands[i].type;
		m->arg = arg;
		switch (m->type) {
		case CTLMSG_AUTH_FAILED:
			parse_auth_failed(m, arg);
			break;
		case CTLMSG_RESTART:
		case CTLMSG_HALT:
			parse_signal(m, arg);
			break;
		case CTLMSG_AUTH_PENDING:
			parse_pending(m, arg);
			break;
		default:
			break;
		}
		return;
	}
	m->type = CTLMSG_UNKNOWN;
}

bool ctlmsg_next(struct ctlmsg_iter *it, struct ctlmsg *m)
{
	char *nul, *s;
	size_t len, i;

	memset(m, 0, sizeof(*m));
	m->arg = "";
	while (it->left) {
		s = it->p;
		nul = memchr(s, '\0', it->left);
		if (!nul) {
			/* An unterminated tail: 2.6.22 drops it. */
			m->type = CTLMSG_INVALID;
			m->text = s;
			m->len = it->left;
			it->p += it->left;
			it->left = 0;
			return true;
		}
		len = (size_t)(nul - s);
		it->p = nul + 1;
		it->left -= len + 1;
		while (len && is_crlf(s[len - 1]))
			len--;
		if (!len)
			continue;	/* empty command */
		m->text = s;
		m->len = len;
		for (i = 0; i < len; i++) {
			if (is_ctl_char((unsigned char)s[i])) {
				m->type = CTLMSG_INVALID;
				return true;
			}
		}
		s[len] = '\0';
		classify(m, s);
		return true;
	}
	return false;
}

const char *ctlmsg_type_name(enum ctlmsg_type t)
{
	static const char *const names[] = {
		[CTLMSG_UNKNOWN] = "UNKNOWN",
		[CTLMSG_INVALID] = "INVALID",
		[CTLMSG_PUSH_REQUEST] = "PUSH_REQUEST",
		[CTLMSG_PUSH_REPLY] = "PUSH_REPLY",
		[CTLMSG_AUTH_FAILED] = "AUTH_FAILED",
		[CTLMSG_AUTH_PENDING] = "AUTH_PENDING",
		[CTLMSG_RESTART] = "RESTART",
		[CTLMSG_HALT] = "HALT",
		[CTLMSG_INFO] = "INFO",
		[CTLMSG_INFO_PRE] = "INFO_PRE",
		[CTLMSG_CR_RESPONSE] = "CR_RESPONSE",
		[CTLMSG_EXIT] = "EXIT",
	};

	if ((unsigned int)t >= ARRAY_SIZE(names))
		return "UNKNOWN";
	return names[t];
}

/* Copies @a then @b (may be NULL) and a NUL, after checking the bytes. */
static int build2(char *out, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, i;

	if (!la)
		return -EINVAL;
	for (i = 0; i < la; i++)
		if (is_ctl_char((unsigned char)a[i]))
			return -EINVAL;
	for (i = 0; i < lb; i++)
		if (is_ctl_char((unsigned char)b[i]))
			return -EINVAL;
	if (la + lb + 1 > CTLMSG_MAX)
		return -EMSGSIZE;
	if (la + lb + 1 > cap)
		return -ENOSPC;
	memcpy(out, a, la);
	if (lb)
		memcpy(out + la, b, lb);
	out[la + lb] = '\0';
	return (int)(la + lb + 1);
}

int ctlmsg_build(char *out, size_t cap, const char *text)
{
	return build2(out, cap, text, NULL);
}

int ctlmsg_build_push_request(char *out, size_t cap)
{
	return build2(out, cap, "PUSH_REQUEST", NULL);
}

int ctlmsg_build_exit(char *out, size_t cap)
{
	return build2(out, cap, "EXIT", NULL);
}

int ctlmsg_build_auth_failed(char *out, size_t cap, const char *reason)
{
	if (!reason || !*reason)
		return build2(out, cap, "AUTH_FAILED", NULL);
	return build2(out, cap, "AUTH_FAILED,", reason);
}

const char *ctlmsg_sanitize(const char *text, char *out, size_t len)
{
	static const struct {
		const char *word;
		unsigned int keep;
	} secret[] = { { "SESS_ID_", 7 }, { "auth-token ", 11 }, { "echo ", 4 } };
	unsigned int keep = 0;
	bool redact = false;
	size_t n = 0;

	for (; *text && n + 1 < len; text++) {
		for (size_t i = 0; i < ARRAY_SIZE(secret); i++) {
			if (!strncmp(text, secret[i].word, strlen(secret[i].word))) {
				keep = secret[i].keep;
				redact = true;
			}
		}
		if (*text == ',')
			redact = false;
		if (redact && !keep)
			continue;
		if (redact)
			keep--;
		out[n++] = *text;
	}
	if (len)
		out[n] = '\0';
	return out;
}
