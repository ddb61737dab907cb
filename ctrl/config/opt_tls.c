/*
 * opt_tls.c - owns the TLS, authentication and data channel directives: certificate and
 * key files, dh, crl-verify, peer-fingerprint, tls-auth / tls-crypt / tls-crypt-v2 and
 * key-direction (global or per <connection>), peer checks (remote-cert-tls,
 * verify-x509-name), TLS versions and ciphers, renegotiation limits, auth-user-pass and
 * its server-side verify script, cipher / data-ciphers, replay window, compression and
 * allow-compression, and what a 2.6 server pushes about keys (protocol-flags,
 * key-derivation, peer-id, push-continuation). Files are only named here; ctrl/proto/tls
 * loads them.
 *
 * Called from the ctrl thread only, through opt_dispatch() (opt_dispatch.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "options_int.h"

/* --- TLS -------------------------------------------------------------------------- */

/* tls-auth/tls-crypt/tls-crypt-v2: global, or the <connection> block's own. */
static struct options_file *wrap_target(struct opt_ctx *c, const char *name)
{
	bool conn = c->where == WHERE_CONN;

	if (!strcmp(name, "tls-auth"))
		return conn ? &c->ce->tls_auth : &c->o->tls_auth;
	if (!strcmp(name, "tls-crypt"))
		return conn ? &c->ce->tls_crypt : &c->o->tls_crypt;
	return conn ? &c->ce->tls_crypt_v2 : &c->o->tls_crypt_v2;
}

static int h_tls_wrap(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	struct options_file *f = wrap_target(c, ARG(0));
	int dir = -1, ret;

	if (!strcmp(ARG(0), "tls-auth")) {
		if (NARGS == 2 && !d->is_inline) {
			ret = opt_get_key_direction(d, 2, &dir, err, errlen);
			if (ret)
				return ret;
		}
		if (c->where == WHERE_CONN)
			c->ce->key_direction = dir;
		else if (NARGS == 2)
			c->o->key_direction = dir;
	} else if (!strcmp(ARG(0), "tls-crypt-v2") && NARGS == 2) {
		if (!strcmp(ARG(2), "allow-noncookie"))
			c->ce->tls_crypt_v2_allow_noncookie = true;
		else if (!strcmp(ARG(2), "force-cookie"))
			c->ce->tls_crypt_v2_allow_noncookie = false;
		else
			return ERR("tls-crypt-v2 expects force-cookie or allow-noncookie after the "
				   "key");
	} else if (NARGS == 2) {
		return ERR("%s expects one key FILE or an inline block", ARG(0));
	}
	f->data = ARG(1);
	f->is_inline = d->is_inline;
	return 0;
}

static int h_key_direction(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	int dir, ret = opt_get_key_direction(d, 1, &dir, err, errlen);

	if (ret)
		return ret;
	if (c->where == WHERE_CONN)
		c->ce->key_direction = dir;
	else
		c->o->key_direction = dir;
	return 0;
}

static int h_dh(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->dh.data = ARG(1);
	c->o->dh.is_inline = d->is_inline;
	c->o->dh_none = !d->is_inline && !strcmp(ARG(1), "none");
	return 0;
}

static int h_crl_verify(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	if (NARGS == 2 && strcmp(ARG(2), "dir"))
		return ERR("crl-verify expects FILE, or DIR followed by 'dir'");
	c->o->crl_verify.data = ARG(1);
	c->o->crl_verify.is_inline = d->is_inline;
	c->o->crl_verify_dir = NARGS == 2;
	return 0;
}

static int hex_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One "AB:CD:...:EF" SHA-256 fingerprint (trailing blanks allowed). */
static bool parse_fingerprint(const char *s, size_t len, uint8_t out[32])
{
	size_t k;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	if (len != 32 * 3 - 1)
		return false;
	for (k = 0; k < 32; k++) {
		int hi = hex_nibble(s[3 * k]), lo = hex_nibble(s[3 * k + 1]);

		if (hi < 0 || lo < 0 || (k < 31 && s[3 * k + 2] != ':'))
			return false;
		out[k] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* peer-fingerprint: one fingerprint, or an inline block with one per line. */
static int h_peer_fingerprint(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	const char *p = ARG(1);
	unsigned int line = d->src.line + (d->is_inline ? 1 : 0);

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;
		struct options_fingerprint *fp;
		uint8_t sha[32];

		while (len && (*q == ' ' || *q == '\t')) {
			q++;
			len--;
		}
		if (len && *q != '#' && !(len == 1 && *q == '\r')) {
			struct config_src s = { d->src.file, line };

			if (!parse_fingerprint(q, len, sha))
				return config_errf(err, errlen, &s, "peer-fingerprint "
						   "expects a SHA-256 fingerprint AB:CD:...:EF "
						   "(32 bytes)");
			fp = VEC_ADD(c->o->peer_fingerprints);
			if (!fp)
				return -ENOMEM;
			memcpy(fp->sha256, sha, 32);
		}
		line++;
		p = nl ? nl + 1 : p + strlen(p);
	}
	return 0;
}

static int h_remote_cert_tls(struct opt_ctx *c, struct config_directive *d, char *err,
			     size_t errlen)
{
	static const char *const w[] = { "server", "client", NULL };
	int k, ret = opt_get_word(d, 1, w, "server or client", &k, err, errlen);

	if (!ret)
		c->o->remote_cert_tls = k ? OPT_CERT_TLS_CLIENT : OPT_CERT_TLS_SERVER;
	return ret;
}

static int h_verify_x509_name(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const char *const w[] = { "subject", "name", "name-prefix", NULL };
	int k = 0, ret;

	if (!*ARG(1))
		return ERR("verify-x509-name expects a non-empty name");
	if (NARGS == 2) {
		ret = opt_get_word(d, 2, w, "subject, name or name-prefix", &k, err, errlen);
		if (ret)
			return ret;
	}
	c->o->verify_x509_name = ARG(1);
	c->o->verify_x509_type = (enum opt_x509_type)k;
	return 0;
}

static int tls_version(const char *s)
{
	static const char *const v[] = { "1.0", "1.1", "1.2", "1.3" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (!strcmp(s, v[i]))
			return (int)i + OPT_TLS_VER_1_0;
	return -1;
}

/* tls_version_parse(): an unknown version with "or-highest" means TLS 1.3 (OpenSSL 3). */
static int h_tls_version(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	bool is_min = !strcmp(ARG(0), "tls-version-min");
	bool or_highest = is_min && ARG_IS(2, "or-highest");
	int v = tls_version(ARG(1));
	char p[80];

	if (is_min && NARGS == 2 && !or_highest)
		return ERR("tls-version-min expects 'or-highest' after the version");
	if (v < 0 && or_highest)
		v = OPT_TLS_VER_1_3;
	if (v < 0)
		return ERR("%s expects 1.0, 1.1, 1.2 or 1.3, got '%s'", ARG(0),
			   opt_printable(ARG(1), p, sizeof(p)));
	if (is_min) {
		c->o->tls_version_min = (enum opt_tls_ver)v;
		c->o->tls_version_min_or_highest = or_highest;
	} else {
		c->o->tls_version_max = (enum opt_tls_ver)v;
	}
	return 0;
}

static int h_tls_cert_profile(struct opt_ctx *c, struct config_directive *d, char *err,
			      size_t errlen)
{
	static const char *const w[] = { "insecure", "legacy", "preferred", "suiteb", NULL };
	int k, ret = opt_get_word(d, 1, w, "insecure, legacy, preferred or suiteb", &k, err,
				  errlen);

	if (!ret)
		c->o->tls_cert_profile = ARG(1);
	return ret;
}

static int h_verify_client_cert(struct opt_ctx *c, struct config_directive *d, char *err,
				size_t errlen)
{
	static const char *const w[] = { "require", "optional", "none", NULL };
	int k = 0, ret = NARGS ? opt_get_word(d, 1, w, "none, optional or require", &k, err,
					      errlen) : 0;

	if (!ret)
		c->o->verify_client_cert = (enum opt_client_cert)k;
	return ret;
}

static int h_reneg_sec(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int max, min;
	int ret = opt_get_uint(d, 1, 0, INT_MAX, &max, err, errlen);

	if (ret)
		return ret;
	c->o->reneg_sec = max;
	if (NARGS == 2) {
		ret = opt_get_uint(d, 2, 0, INT_MAX, &min, err, errlen);
		if (ret)
			return ret;
		c->o->reneg_sec_min = (int)min;
	}
	return 0;
}

static int h_reneg_count(struct opt_ctx *c, struct config_directive *d, char *err,
			 size_t errlen)
{
	unsigned long long v;
	int ret = opt_get_num(d, 1, 0, INT64_MAX, &v, err, errlen);

	if (ret)
		return ret;
	if (!strcmp(ARG(0), "reneg-bytes"))
		c->o->reneg_bytes = (int64_t)v;
	else
		c->o->reneg_pkts = (int64_t)v;
	return 0;
}

/* --- authentication --------------------------------------------------------------- */

static int h_askpass(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->has_askpass = true;
	c->o->askpass_file = NARGS ? ARG(1) : NULL;
	return 0;
}

static int h_auth_user_pass(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	(void)err, (void)errlen;
	c->o->has_auth_user_pass = true;
	c->o->auth_user_pass.data = NARGS ? ARG(1) : NULL;
	c->o->auth_user_pass.is_inline = d->is_inline;
	return 0;
}

static int h_auth_retry(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "none", "nointeract", "interact", NULL };
	int k, ret = opt_get_word(d, 1, w, "none, nointeract or interact", &k, err, errlen);

	if (!ret)
		c->o->auth_retry = (enum opt_auth_retry)k;
	return ret;
}

static int h_auth_user_pass_verify(struct opt_ctx *c, struct config_directive *d, char *err,
				   size_t errlen)
{
	static const char *const w[] = { "via-env", "via-file", NULL };
	int k, ret;

	if (NARGS < 2)
		return ERR("auth-user-pass-verify expects 'COMMAND' and via-env or via-file");
	ret = opt_get_word(d, 2, w, "via-env or via-file", &k, err, errlen);
	if (ret)
		return ret;
	c->o->auth_user_pass_verify = ARG(1);
	c->o->auth_user_pass_verify_via_file = k == 1;
	return 0;
}

/* --- data channel ----------------------------------------------------------------- */

static int h_cipher(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	c->o->cipher = ARG(1);
	c->o->cipher_pushed = c->where == WHERE_PUSH;
	return 0;
}

static int h_data_ciphers(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	if (!*ARG(1) || ARG(1)[strlen(ARG(1)) - 1] == ':')
		return ERR("%s expects a ':'-separated cipher list", ARG(0));
	c->o->data_ciphers = ARG(1);
	return 0;
}

static int h_key_method(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	(void)c;
	if (strcmp(ARG(1), "2"))
		return ERR("key-method expects 2 (key method 1 is gone since OpenVPN 2.5)");
	return 0;
}

static int h_replay_window(struct opt_ctx *c, struct config_directive *d, char *err,
			   size_t errlen)
{
	unsigned int n, t;
	int ret = opt_get_uint(d, 1, 0, 65536, &n, err, errlen);	/* MIN/MAX_SEQ_BACKTRACK */

	if (ret)
		return ret;
	if (NARGS == 2) {
		ret = opt_get_uint(d, 2, 0, 600, &t, err, errlen);	/* MIN/MAX_TIME_BACKTRACK */
		if (ret)
			return ret;
		c->o->replay_time = t;
	}
	c->o->replay_window = n;
	return 0;
}

bool opt_comp_is_real(enum opt_comp comp)
{
	return comp == OPT_COMP_LZO || comp == OPT_COMP_LZ4 || comp == OPT_COMP_LZ4_V2;
}

const char *options_comp_name(enum opt_comp comp)
{
	static const char *const names[] = {
		"none", "comp-lzo no", "lzo", "stub", "stub-v2", "lz4", "lz4-v2", "migrate",
	};

	return (unsigned int)comp < ARRAY_SIZE(names) ? names[comp] : "?";
}

static int h_comp_lzo(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "yes", "no", "adaptive", NULL };
	int k = 2, ret = NARGS ? opt_get_word(d, 1, w, "yes, no or adaptive", &k, err, errlen) : 0;

	if (ret)
		return ret;
	c->o->comp = k == 1 ? OPT_COMP_LZO_STUB : OPT_COMP_LZO;
	c->o->comp_adaptive = k == 2;
	return 0;
}

static int h_compress(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	static const char *const w[] = { "stub", "stub-v2", "lzo", "lz4", "lz4-v2", "migrate",
					 NULL };
	static const enum opt_comp map[] = { OPT_COMP_STUB, OPT_COMP_STUB_V2, OPT_COMP_LZO,
					     OPT_COMP_LZ4, OPT_COMP_LZ4_V2, OPT_COMP_MIGRATE };
	int k = 0, ret = NARGS ? opt_get_word(d, 1, w, "stub, stub-v2, lzo, lz4, lz4-v2 or migrate",
					      &k, err, errlen) : 0;

	if (ret)
		return ret;
	c->o->comp = map[k];
	c->o->comp_adaptive = false;
	return 0;
}

static int h_comp_noadapt(struct opt_ctx *c, struct config_directive *d, char *err,
			  size_t errlen)
{
	(void)d, (void)err, (void)errlen;
	c->o->comp_adaptive = false;
	return 0;
}

static int h_allow_compression(struct opt_ctx *c, struct config_directive *d, char *err,
			       size_t errlen)
{
	static const char *const w[] = { "no", "asym", "yes", NULL };
	int k, ret = opt_get_word(d, 1, w, "yes, no or asym", &k, err, errlen);

	if (ret)
		return ret;
	if (k == 0 && opt_comp_is_real(c->o->comp))
		return ERR("allow-compression no conflicts with compress/comp-lzo %s given before",
			   options_comp_name(c->o->comp));
	if (k != 0 && c->o->allow_compression == OPT_ALLOW_COMP_NO)
		return ERR("allow-compression %s after allow-compression no", ARG(1));
	c->o->allow_compression = (enum opt_allow_comp)(k + 1);
	return 0;
}

static int h_protocol_flags(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	char p[80];
	int i;

	(void)err, (void)errlen;
	for (i = 1; i < d->argc; i++) {
		if (!strcmp(ARG(i), "cc-exit"))
			c->o->protocol_flags |= OPT_PROTO_CC_EXIT;
		else if (!strcmp(ARG(i), "tls-ekm"))
			c->o->protocol_flags |= OPT_PROTO_TLS_EKM;
		else if (!strcmp(ARG(i), "dyn-tls-crypt"))
			c->o->protocol_flags |= OPT_PROTO_DYN_TLS_CRYPT;
		else
			opt_warnf(c->o, &d->src, "unknown protocol-flags flag '%s' ignored",
				  opt_printable(ARG(i), p, sizeof(p)));
	}
	return 0;
}

static int h_key_derivation(struct opt_ctx *c, struct config_directive *d, char *err,
			    size_t errlen)
{
	if (strcmp(ARG(1), "tls-ekm"))
		return ERR("key-derivation expects tls-ekm");
	c->o->protocol_flags |= OPT_PROTO_TLS_EKM;
	return 0;
}

static int h_peer_id(struct opt_ctx *c, struct config_directive *d, char *err, size_t errlen)
{
	unsigned int v;
	int ret = opt_get_uint(d, 1, 0, 0xFFFFFF, &v, err, errlen);

	if (ret)
		return ret;
	c->o->peer_id = v;
	c->o->has_peer_id = true;
	return 0;
}

static int h_push_continuation(struct opt_ctx *c, struct config_directive *d, char *err,
			       size_t errlen)
{
	unsigned int v;
	int ret = opt_get_uint(d, 1, 0, 2, &v, err, errlen);

	if (!ret)
		c->o->push_continuation = (int)v;
	return ret;
}

/* --- the table -------------------------------------------------------------------- */

static const struct opt_def tls_defs[] = {
	/* TLS. */
	FILE_("ca", ca),
	FILE_("cert", cert),
	FILE_("key", key),
	FILE_("extra-certs", extra_certs),
	FILE_("pkcs12", pkcs12),
	FN("askpass", C, 0, 1, h_askpass, "[FILE]"),
	FN("dh", C | F_INLINE, 1, 1, h_dh, "FILE, none or an inline block"),
	FN("crl-verify", C | F_INLINE, 1, 2, h_crl_verify, "FILE [dir] or an inline block"),
	FN("peer-fingerprint", C | F_INLINE, 1, 1, h_peer_fingerprint,
	   "a SHA-256 fingerprint or an inline block"),
	FN("tls-auth", CC | F_INLINE, 1, 2, h_tls_wrap, "FILE [0|1] or an inline block"),
	FN("tls-crypt", CC | F_INLINE, 1, 1, h_tls_wrap, "FILE or an inline block"),
	FN("tls-crypt-v2", CC | F_INLINE, 1, 2, h_tls_wrap,
	   "FILE [force-cookie|allow-noncookie] or an inline block"),
	FN("key-direction", CC, 1, 1, h_key_direction, "0 or 1"),
	FN("remote-cert-tls", C, 1, 1, h_remote_cert_tls, "server or client"),
	FN("verify-x509-name", C, 1, 2, h_verify_x509_name, "NAME [subject|name|name-prefix]"),
	FN("tls-version-min", C, 1, 2, h_tls_version, "1.0|1.1|1.2|1.3 [or-highest]"),
	FN("tls-version-max", C, 1, 1, h_tls_version, "1.0|1.1|1.2|1.3"),
	STR("tls-cipher", C, tls_cipher),
	STR("tls-ciphersuites", C, tls_ciphersuites),
	STR("tls-groups", C, tls_groups),
	FN("tls-cert-profile", C, 1, 1, h_tls_cert_profile, "insecure|legacy|preferred|suiteb"),
	FN("verify-client-cert", C, 0, 1, h_verify_client_cert, "[none|optional|require]"),
	UINT("tls-timeout", C, tls_timeout, 0, INT_MAX),
	UINT("hand-window", C, hand_window, 0, INT_MAX),
	UINT("tran-window", C, tran_window, 0, INT_MAX),
	FN("reneg-sec", C, 1, 2, h_reneg_sec, "SECONDS [MIN-SECONDS]"),
	FN("reneg-bytes", C, 1, 1, h_reneg_count, "BYTES"),
	FN("reneg-pkts", C, 1, 1, h_reneg_count, "PACKETS"),
	FLAG("tls-exit", C, tls_exit),
	FLAG("single-session", C, single_session),
	FLAG("push-peer-info", C, push_peer_info),
	REJECT("secret", "(static-key mode) is not supported by sluice; use TLS"),
	/* Authentication. */
	FN("auth-user-pass", C | F_INLINE, 0, 1, h_auth_user_pass, "[FILE] or an inline block"),
	FLAG("auth-nocache", C, auth_nocache),
	FN("auth-retry", C, 1, 1, h_auth_retry, "none, nointeract or interact"),
	FN("auth-user-pass-verify", C, 1, 2, h_auth_user_pass_verify,
	   "'COMMAND' via-env|via-file"),
	FLAG("username-as-common-name", C, username_as_common_name),
	STR("auth-token", CP, auth_token),
	STR("auth-token-user", CP, auth_token_user),
	/* Data channel. */
	FN("cipher", CP, 1, 1, h_cipher, "CIPHER"),
	FN("data-ciphers", C, 1, 1, h_data_ciphers, "CIPHER[:CIPHER...]"),
	FN("ncp-ciphers", C, 1, 1, h_data_ciphers, "CIPHER[:CIPHER...]"),
	STR("data-ciphers-fallback", C, data_ciphers_fallback),
	STR("auth", C, auth),
	FN("key-method", C, 1, 1, h_key_method, "2"),
	REJECT("keysize", "was removed in OpenVPN 2.6 and is not supported"),
	FN("replay-window", C, 1, 2, h_replay_window, "N [SECONDS]"),
	FLAG("mute-replay-warnings", C, mute_replay_warnings),
	FN("comp-lzo", CP, 0, 1, h_comp_lzo, "[yes|no|adaptive]"),
	FN("compress", CP, 0, 1, h_compress, "[stub|stub-v2|lzo|lz4|lz4-v2|migrate]"),
	FN("comp-noadapt", CP, 0, 0, h_comp_noadapt, ""),
	FN("allow-compression", C, 1, 1, h_allow_compression, "yes, no or asym"),
	FN("protocol-flags", CP, 1, CONFIG_PARMS_MAX - 1, h_protocol_flags, "FLAG..."),
	FN("key-derivation", CP, 1, 1, h_key_derivation, "tls-ekm"),
	FN("peer-id", CP, 1, 1, h_peer_id, "ID"),
	FN("push-continuation", F_PULL, 1, 1, h_push_continuation, "1 or 2"),
};

const struct opt_table opt_tls_table = OPT_TABLE(tls_defs);
