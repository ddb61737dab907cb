/*
 * ctlmsg_test.c - control-channel text commands (ctrl/proto/ctlmsg.h).
 *
 * Part 1: numbered table of single commands. T(bytes, type, arg) feeds the
 * bytes of one TLS read (string literal, its own NULs included, so the
 * length is sizeof - 1) and checks the first command's type and argument.
 * F(...) additionally checks the flag fields.
 * Part 2: splitting of several commands in one read (2.6.12+ rules).
 * Part 3: builders.
 * Part 4: log sanitizing of tokens and echo texts (stock's sanitize_control_message).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../ctrl/proto/ctlmsg.h"
#include "harness.h"

static unsigned int case_no;

struct flags {
	bool is_temp;
	unsigned int backoff;
	enum ctlmsg_advance advance;
	bool keep_auth, next_remote, has_timeout;
	unsigned int timeout;
};

static void one(int line, const char *in, size_t len, enum ctlmsg_type type, const char *arg,
		const struct flags *f)
{
	static char buf[4096];
	struct ctlmsg_iter it;
	struct ctlmsg m;
	bool got;

	case_no++;
	memcpy(buf, in, len);
	ctlmsg_iter_init(&it, buf, len);
	got = ctlmsg_next(&it, &m);
	if (!got || m.type != type || (arg && strcmp(m.arg, arg))) {
		harness_fail(__FILE__, line, "case %u: got %s %s arg '%s', expected %s arg '%s'",
			     case_no, got ? "message" : "nothing", ctlmsg_type_name(m.type), m.arg,
			     ctlmsg_type_name(type), arg ? arg : "(any)");
		return;
	}
	if (f && (m.is_temp != f->is_temp || m.temp_backoff != f->backoff ||
		  m.temp_advance != f->advance || m.keep_auth != f->keep_auth ||
		  m.next_remote != f->next_remote || m.has_timeout != f->has_timeout ||
		  m.timeout != f->timeout)) {
		harness_fail(__FILE__, line,
			     "case %u: flags temp=%d backoff=%u adv=%d P=%d N=%d timeout=%d/%u",
			     case_no, m.is_temp, m.temp_backoff, m.temp_advance, m.keep_auth,
			     m.next_remote, m.has_timeout, m.timeout);
	}
}

#define T(in, type, arg)	one(__LINE__, (in), sizeof(in) - 1, (type), (arg), NULL)
#define F(in, type, arg, ...)	one(__LINE__, (in), sizeof(in) - 1, (type), (arg),	\
				    &(struct flags){ __VA_ARGS__ })

static void test_table(void)
{
	T("PUSH_REQUEST\0", CTLMSG_PUSH_REQUEST, "");					/*  1 */
	T("PUSH_REPLY\0", CTLMSG_PUSH_REPLY, "");					/*  2 */
	T("PUSH_REPLY,route 198.19.78.0 255.255.255.0,ping 10,peer-id 0\0",		/*  3 */
	  CTLMSG_PUSH_REPLY, "route 198.19.78.0 255.255.255.0,ping 10,peer-id 0");
	T("PUSH_REPLY,ping 10\r\n\0", CTLMSG_PUSH_REPLY, "ping 10");			/*  4 */
	T("PUSH_REPLYX\0", CTLMSG_UNKNOWN, "");						/*  5 */
	T("PUSH_REPLY,a\nb\0", CTLMSG_INVALID, "");					/*  6 */
	T("PUSH_REPLY,ping 10", CTLMSG_INVALID, "");					/*  7: no NUL */
	F("AUTH_FAILED\0", CTLMSG_AUTH_FAILED, "", 0);					/*  8 */
	F("AUTH_FAILED,bad password\0", CTLMSG_AUTH_FAILED, "bad password", 0);		/*  9 */
	F("AUTH_FAILED,SESSION:Your session expired\0", CTLMSG_AUTH_FAILED,		/* 10 */
	  "SESSION:Your session expired", 0);
	F("AUTH_FAILED,TEMP\0", CTLMSG_AUTH_FAILED, "", .is_temp = true);		/* 11 */
	F("AUTH_FAILED,TEMP:try later\0", CTLMSG_AUTH_FAILED, "try later",		/* 12 */
	  .is_temp = true);
	F("AUTH_FAILED,TEMP[backoff 30,advance remote]:busy\0", CTLMSG_AUTH_FAILED,	/* 13 */
	  "busy", .is_temp = true, .backoff = 30, .advance = CTLMSG_ADVANCE_REMOTE);
	F("AUTH_FAILED,TEMP[advance no]\0", CTLMSG_AUTH_FAILED, "", .is_temp = true,	/* 14 */
	  .advance = CTLMSG_ADVANCE_NO);
	F("AUTH_FAILED,TEMP[advance addr,backoff x,bogus]:m\0", CTLMSG_AUTH_FAILED,	/* 15 */
	  "m", .is_temp = true, .advance = CTLMSG_ADVANCE_ADDR);
	F("AUTH_FAILED,TEMP[backoff 99999999999]:m\0", CTLMSG_AUTH_FAILED, "m",		/* 16 */
	  .is_temp = true);
	F("AUTH_FAILED,TEMP[backoff 5:m\0", CTLMSG_AUTH_FAILED, "",			/* 17: no ] */
	  .is_temp = true);
	F("AUTH_FAILED,TEMPORARY\0", CTLMSG_AUTH_FAILED, "", .is_temp = true);		/* 18 */
	T("AUTH_FAILEDX\0", CTLMSG_UNKNOWN, "");					/* 19 */
	F("RESTART\0", CTLMSG_RESTART, "", 0);						/* 20 */
	F("RESTART,server shutting down\0", CTLMSG_RESTART, "server shutting down", 0);	/* 21 */
	F("RESTART,[P]keep\0", CTLMSG_RESTART, "keep", .keep_auth = true);		/* 22 */
	F("RESTART,[N]next\0", CTLMSG_RESTART, "next", .next_remote = true);		/* 23 */
	F("RESTART,[PN]\0", CTLMSG_RESTART, "", .keep_auth = true,			/* 24 */
	  .next_remote = true);
	F("RESTART,[X\0", CTLMSG_RESTART, "", 0);					/* 25 */
	F("HALT,[P]bye\0", CTLMSG_HALT, "bye", .keep_auth = true);			/* 26 */
	F("HALT\0", CTLMSG_HALT, "", 0);						/* 27 */
	T("HALTED\0", CTLMSG_UNKNOWN, "");						/* 28 */
	F("AUTH_PENDING\0", CTLMSG_AUTH_PENDING, "", 0);				/* 29 */
	F("AUTH_PENDING,timeout 120\0", CTLMSG_AUTH_PENDING, "timeout 120",		/* 30 */
	  .has_timeout = true, .timeout = 120);
	F("AUTH_PENDING,foo,timeout 30,bar\0", CTLMSG_AUTH_PENDING,			/* 31 */
	  "foo,timeout 30,bar", .has_timeout = true, .timeout = 30);
	F("AUTH_PENDING,timeout -1\0", CTLMSG_AUTH_PENDING, "timeout -1", 0);		/* 32 */
	F("AUTH_PENDING,timeout 99999999999\0", CTLMSG_AUTH_PENDING, NULL, 0);		/* 33 */
	T("INFO,hello\0", CTLMSG_INFO, "hello");					/* 34 */
	T("INFO_PRE,WEB_AUTH::https://x/y\0", CTLMSG_INFO_PRE, "WEB_AUTH::https://x/y");/* 35 */
	T("INFO\0", CTLMSG_INFO, "");							/* 36 */
	T("CR_RESPONSE,dGVzdA==\0", CTLMSG_CR_RESPONSE, "dGVzdA==");			/* 37 */
	T("EXIT\0", CTLMSG_EXIT, "");							/* 38 */
	T("EXIT\r\n\0", CTLMSG_EXIT, "");						/* 39 */
	T("EXITING\0", CTLMSG_UNKNOWN, "");						/* 40 */
	T("HELLO\0", CTLMSG_UNKNOWN, "");						/* 41 */
	T("push_reply\0", CTLMSG_UNKNOWN, "");						/* 42: case */
	T("PUSH_REPLY,\x7f\0", CTLMSG_INVALID, "");					/* 43: DEL */
	T("PUSH_REPLY,\tx\0", CTLMSG_INVALID, "");					/* 44: tab */
	T("INFO,gr\xc3\xbc\xc3\x9f" "e\0", CTLMSG_INFO, "gr\xc3\xbc\xc3\x9f" "e");	/* 45: UTF-8 */
	T("\0\0\r\n\0EXIT\0", CTLMSG_EXIT, "");						/* 46: empties */
	T("\r\n\r", CTLMSG_INVALID, "");						/* 47 */
	T("\rEXIT\0", CTLMSG_INVALID, "");						/* 48: leading CR */
}

static void test_split(void)
{
	char buf[256];
	const char in[] = "PUSH_REPLY,ping 10,push-continuation 2\0"
			  "PUSH_REPLY,ping-restart 60,push-continuation 1\r\n\0"
			  "\0"
			  "AUTH_FAILED\0"
			  "bad\x01\0"
			  "EXIT";
	struct ctlmsg_iter it;
	struct ctlmsg m;
	int n = 0;

	memcpy(buf, in, sizeof(in) - 1);
	ctlmsg_iter_init(&it, buf, sizeof(in) - 1);
	CHECK(ctlmsg_next(&it, &m) && m.type == CTLMSG_PUSH_REPLY &&
	      !strcmp(m.text, "PUSH_REPLY,ping 10,push-continuation 2") &&
	      m.len == strlen(m.text), "first");
	CHECK(ctlmsg_next(&it, &m) && m.type == CTLMSG_PUSH_REPLY &&
	      !strcmp(m.arg, "ping-restart 60,push-continuation 1") &&
	      m.len == strlen("PUSH_REPLY,ping-restart 60,push-continuation 1"), "second, chomped");
	CHECK(ctlmsg_next(&it, &m) && m.type == CTLMSG_AUTH_FAILED, "third (after empty)");
	CHECK(ctlmsg_next(&it, &m) && m.type == CTLMSG_INVALID && m.len == 4 &&
	      !memcmp(m.text, "bad\x01", 4), "control character");
	CHECK(ctlmsg_next(&it, &m) && m.type == CTLMSG_INVALID && m.len == 4 &&
	      !memcmp(m.text, "EXIT", 4), "unterminated tail");
	CHECK(!ctlmsg_next(&it, &m) && !ctlmsg_next(&it, &m), "end");

	ctlmsg_iter_init(&it, NULL, 5);
	CHECK(!ctlmsg_next(&it, &m), "NULL buffer");
	ctlmsg_iter_init(&it, buf, 0);
	CHECK(!ctlmsg_next(&it, &m), "empty buffer");
	memset(buf, 0, 64);
	ctlmsg_iter_init(&it, buf, 64);
	while (ctlmsg_next(&it, &m))
		n++;
	CHECK(n == 0, "all-NUL buffer gave %d messages", n);
	CHECK(!strcmp(ctlmsg_type_name(CTLMSG_PUSH_REPLY), "PUSH_REPLY") &&
	      !strcmp(ctlmsg_type_name((enum ctlmsg_type)99), "UNKNOWN"), "names");
}

static void test_build(void)
{
	static char out[CTLMSG_MAX + 16], big[CTLMSG_MAX + 1];

	CHECK(ctlmsg_build_push_request(out, sizeof(out)) == 13 &&
	      !memcmp(out, "PUSH_REQUEST\0", 13), "PUSH_REQUEST");
	CHECK(ctlmsg_build_exit(out, sizeof(out)) == 5 && !memcmp(out, "EXIT\0", 5), "EXIT");
	CHECK(ctlmsg_build_auth_failed(out, sizeof(out), NULL) == 12 &&
	      !memcmp(out, "AUTH_FAILED\0", 12), "AUTH_FAILED");
	CHECK(ctlmsg_build_auth_failed(out, sizeof(out), "TEMP[backoff 5]:busy") == 33 &&
	      !strcmp(out, "AUTH_FAILED,TEMP[backoff 5]:busy"), "AUTH_FAILED,reason");
	CHECK(ctlmsg_build_auth_failed(out, sizeof(out), "a\nb") == -EINVAL, "newline");
	CHECK(ctlmsg_build(out, sizeof(out), "PUSH_REPLY,x\r") == -EINVAL, "CR");
	CHECK(ctlmsg_build(out, sizeof(out), "") == -EINVAL, "empty");
	CHECK(ctlmsg_build(out, 4, "EXIT") == -ENOSPC, "no room for the NUL");
	memset(big, 'a', sizeof(big));
	big[CTLMSG_MAX - 1] = '\0';
	CHECK(ctlmsg_build(out, sizeof(out), big) == CTLMSG_MAX, "at the limit");
	big[CTLMSG_MAX - 1] = 'a';
	big[CTLMSG_MAX] = '\0';
	CHECK(ctlmsg_build(out, sizeof(out), big) == -EMSGSIZE, "over the limit");

	/* What we build, we parse back. */
	struct ctlmsg_iter it;
	struct ctlmsg m;
	int n = ctlmsg_build(out, sizeof(out), "RESTART,[P]maintenance");

	ctlmsg_iter_init(&it, out, (size_t)n);
	CHECK(n > 0 && ctlmsg_next(&it, &m) && m.type == CTLMSG_RESTART && m.keep_auth &&
	      !strcmp(m.arg, "maintenance") && !ctlmsg_next(&it, &m), "round trip");
}

/* S(text, expected log text, buffer size) */
static void sanitize_case(int line, const char *in, const char *want, size_t len)
{
	char out[256];

	case_no++;
	ctlmsg_sanitize(in, out, len);
	if (strcmp(out, want))
		harness_fail(__FILE__, line, "case %u: sanitized '%s' to '%s', want '%s'", case_no,
			     in, out, want);
}

#define S(in, want, len)	sanitize_case(__LINE__, (in), (want), (len))

static void test_sanitize(void)
{
	S("PUSH_REPLY,route-gateway 10.8.0.1,peer-id 0,auth-token SESS_ID_AT_abc+/=,cipher X",
	  "PUSH_REPLY,route-gateway 10.8.0.1,peer-id 0,auth-token SESS_ID,cipher X", 256);
	S("PUSH_REPLY,auth-token secret-token", "PUSH_REPLY,auth-token ", 256);
	S("PUSH_REPLY,echo hello there,ping 2", "PUSH_REPLY,echo,ping 2", 256);
	S("SESS_ID_AT_xyz", "SESS_ID", 256);
	S("PUSH_REPLY,ifconfig 1.2.3.4 255.0.0.0", "PUSH_REPLY,ifconfig 1.2.3.4 255.0.0.0", 256);
	S("PUSH_REPLY,ifconfig 1.2.3.4", "PUSH_RE", 8);		/* truncated, NUL-terminated */
	S("", "", 256);
}

int main(void)
{
	test_table();
	test_split();
	test_build();
	test_sanitize();
	printf("ctlmsg_test: %u table cases\n", case_no);
	return harness_done("ctlmsg_test");
}
