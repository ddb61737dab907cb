/*
 * check.c - owns the configuration checks that need no device and no
 * socket (ctrl/check.h): `sluice --config FILE --check` prints them, and
 * every start runs them before it touches a device, a route or a socket.
 *
 *   files        every file option is readable (ca, cert, key, extra-certs,
 *                dh, crl-verify, pkcs12, tls-auth/-crypt/-crypt-v2,
 *                auth-user-pass, the management password file); the
 *                directories of status, log, writepid and
 *                ifconfig-pool-persist are writable; client-config-dir is a
 *                readable directory; scripts are executable
 *   PEM          each of ca, crl-verify, cert + key (and that they match),
 *                extra-certs and dh loads on its own into a TLS context, so
 *                a certificate that is really a key, or a CA with broken
 *                base64, is one line each; tls-cipher, tls-ciphersuites,
 *                tls-groups and tls-version-min/max are accepted by OpenSSL
 *   keys         tls-auth and tls-crypt hold an OpenVPN static key,
 *                tls-crypt-v2 a client or server key for the role
 *   algorithms   every name in data-ciphers, cipher, data-ciphers-fallback
 *                and auth is known to OpenSSL, as stock refuses them
 *                ("Unsupported cipher in --data-ciphers: ROT13-CBC",
 *                "Message hash algorithm 'MD17' not found"); data-ciphers
 *                must name one cipher sluice runs (AES-128/256-GCM,
 *                CHACHA20-POLY1305), others only warn
 *   management   its options need `management`, as stock's
 *
 * Each problem names the directive's FILE:LINE (found by reading the
 * configuration's directives once more: the parser keeps values, not
 * places; the last occurrence is the one in force).
 *
 * Thread: ctrl (the main thread), before anything else runs.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "../core/log.h"
#include "../crypto/dc.h"
#include "../crypto/statickey.h"
#include "../crypto/tlswrap.h"
#include "../crypto/wkc.h"
#include "check.h"
#include "config/config.h"
#include "config/options.h"
#include "config/runcfg.h"
#include "proto/tls.h"

#define WHERE_MAX	512

/* Where each directive was given last. */
struct where {
	char name[48];
	char place[300];		/* "client.ovpn:12" or "command line" */
};

struct check {
	const struct options *o;
	bool is_server, is_client;
	bool to_log;
	unsigned int errors, warnings;
	struct where w[WHERE_MAX];
	size_t nw;
	struct config_arena arena;
	int depth;
};

/* ---- where directives are ------------------------------------------------- */

static int where_note(void *arg, struct config_directive *d, char *err, size_t errlen);

static void where_file(struct check *k, const char *path)
{
	char err[256], *buf;
	size_t len;

	if (k->depth >= CONFIG_DEPTH_MAX || config_file_load(path, &buf, &len, err, sizeof(err)))
		return;
	k->depth++;
	(void)config_read_buffer(&k->arena, config_arena_strdup(&k->arena, path) ?: "?", 1, buf,
				 len, where_note, k, err, sizeof(err));
	k->depth--;
	config_file_unload(buf, len);
}

static int where_note(void *arg, struct config_directive *d, char *err, size_t errlen)
{
	struct check *k = arg;
	const char *name = d->argv[0];
	size_t i;

	if (!strcmp(name, "config") && d->argc == 2) {
		where_file(k, d->argv[1]);
		return 0;
	}
	if (!strcmp(name, "connection") && d->is_inline)
		return config_read_buffer(&k->arena, d->src.file ?: "command line",
					  d->src.line + 1, d->argv[1], strlen(d->argv[1]),
					  where_note, k, err, errlen);
	for (i = 0; i < k->nw && strcmp(k->w[i].name, name); i++)
		;
	if (i == WHERE_MAX)
		return 0;
	if (i == k->nw)
		k->nw++;
	snprintf(k->w[i].name, sizeof(k->w[i].name), "%s", name);
	config_src_str(&d->src, k->w[i].place, sizeof(k->w[i].place));
	return 0;
}

static const char *where(const struct check *k, const char *name)
{
	for (size_t i = 0; i < k->nw; i++)
		if (!strcmp(k->w[i].name, name))
			return k->w[i].place;
	return "configuration";
}

/* One problem: "PLACE: error: ..." on stdout (--check) or in the log (start-up). */
static void __printf(4, 5) report(struct check *k, bool is_error, const char *name,
				  const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (is_error)
		k->errors++;
	else
		k->warnings++;
	if (k->to_log)
		log_warnx("%s: %s: %s", where(k, name), is_error ? "error" : "warning", msg);
	else
		printf("%s: %s: %s\n", where(k, name), is_error ? "error" : "warning", msg);
}

/* ---- files ---------------------------------------------------------------- */

/* A file option that names a readable file (inline blocks are fine). */
static bool file_ok(struct check *k, const char *name, const struct options_file *f)
{
	if (!f->data || f->is_inline)
		return f->data != NULL;
	if (access(f->data, R_OK)) {
		report(k, true, name, "cannot read %s '%s': %s", name, f->data, strerror(errno));
		return false;
	}
	return true;
}

/* The directory a file would be created in is writable. */
static void dir_writable(struct check *k, const char *name, const char *path)
{
	char *copy;

	if (!path)
		return;
	copy = strdup(path);
	if (copy && access(dirname(copy), W_OK))
		report(k, true, name, "cannot write %s '%s': %s", name, path, strerror(errno));
	free(copy);
}

/* A script's program (the first word of the command) is executable. */
static void script_ok(struct check *k, const char *name, const char *cmd)
{
	char prog[512];

	if (!cmd)
		return;
	snprintf(prog, sizeof(prog), "%.*s", (int)strcspn(cmd, " \t"), cmd);
	if (access(prog, X_OK))
		report(k, true, name, "%s script fails with '%s': %s", name, prog, strerror(errno));
}

static void check_files(struct check *k)
{
	const struct options *o = k->o;
	struct stat st;

	(void)file_ok(k, "pkcs12", &o->pkcs12);
	if (o->has_auth_user_pass && o->auth_user_pass.data)
		(void)file_ok(k, "auth-user-pass", &o->auth_user_pass);
	if (o->management_pw_file && strcmp(o->management_pw_file, "stdin") &&
	    access(o->management_pw_file, R_OK))
		report(k, true, "management", "cannot read the management password file '%s': %s",
		       o->management_pw_file, strerror(errno));
	if (o->management_pw_file && !strcmp(o->management_pw_file, "stdin"))
		report(k, true, "management", "a management password from stdin is not supported; "
		       "give a file");
	dir_writable(k, "status", o->status_file);
	dir_writable(k, "writepid", o->writepid);
	dir_writable(k, "ifconfig-pool-persist", o->ifconfig_pool_persist);
	dir_writable(k, o->log_append ? "log-append" : "log", o->log);
	if (o->client_config_dir && (stat(o->client_config_dir, &st) || !S_ISDIR(st.st_mode) ||
				     access(o->client_config_dir, R_OK | X_OK)))
		report(k, true, "client-config-dir", "client-config-dir fails with '%s': %s",
		       o->client_config_dir, errno ? strerror(errno) : "not a directory");
	script_ok(k, "up", o->up);
	script_ok(k, "down", o->down);
	script_ok(k, "route-up", o->route_up);
	script_ok(k, "auth-user-pass-verify", o->auth_user_pass_verify);
}

/* ---- PEM files, one TLS context each ------------------------------------- */

static const uint8_t any_fp[1][TLS_FP_LEN];

/* @tc loads into a context on its own; a failure is reported against @name. */
static bool tls_try(struct check *k, const char *name, const struct tls_conf *tc)
{
	struct tls_ctx *ctx;
	char err[TLS_ERR_MAX];
	int rc = tls_ctx_create(&ctx, tc, err, sizeof(err));

	if (!rc) {
		tls_ctx_put(ctx);
		return true;
	}
	/*
	 * An encrypted key or bundle: its passphrase is asked for after the
	 * checks (askpass, or the terminal); the load then says what failed.
	 */
	if (rc == -ENOKEY && (k->o->has_askpass || isatty(STDIN_FILENO)))
		return true;
	/* cert + key in one context: the message says which of the two it was. */
	if (!strcmp(name, "key") && !strstr(err, "private key"))
		name = "cert";
	report(k, true, name, "%s", err);
	return false;
}

static void check_pem(struct check *k)
{
	const struct options *o = k->o;
	struct tls_conf full, tc;
	bool ca_ok, cert_ok = false, cert_f, key_f;

	runcfg_tls_conf(o, k->is_server, &full);
	/* The peer checks and versions, against no file: a fingerprint stands in for the CA. */
	tc = (struct tls_conf){ .version_min = full.version_min, .version_max = full.version_max,
				.cipher_list = full.cipher_list, .ciphersuites = full.ciphersuites,
				.groups = full.groups, .cert_profile = full.cert_profile,
				.fingerprints = any_fp, .n_fingerprints = 1 };
	(void)tls_try(k, full.cipher_list ? "tls-cipher" : full.groups ? "tls-groups" :
		      "tls-version-min", &tc);
	ca_ok = file_ok(k, "ca", &o->ca);
	if (ca_ok)
		ca_ok = tls_try(k, "ca", &(struct tls_conf){ .ca = full.ca });
	if (ca_ok && file_ok(k, "crl-verify", &o->crl_verify))
		(void)tls_try(k, "crl-verify", &(struct tls_conf){ .ca = full.ca, .crl = full.crl });
	if (o->pkcs12.data && file_ok(k, "pkcs12", &o->pkcs12)) {
		tc = (struct tls_conf){ .pkcs12 = full.pkcs12, .fingerprints = any_fp,
					.n_fingerprints = 1 };
		(void)tls_try(k, "pkcs12", &tc);
	}
	/* Both files are checked (and reported) even when the first is bad. */
	cert_f = file_ok(k, "cert", &o->cert);
	key_f = file_ok(k, "key", &o->key);
	if (cert_f && key_f) {
		tc = (struct tls_conf){ .cert = full.cert, .key = full.key,
					.fingerprints = any_fp, .n_fingerprints = 1 };
		cert_ok = tls_try(k, "key", &tc);
	}
	if (cert_ok && file_ok(k, "extra-certs", &o->extra_certs)) {
		tc.extra_certs = full.extra_certs;
		(void)tls_try(k, "extra-certs", &tc);
	}
	if (k->is_server && cert_ok && !o->dh_none && file_ok(k, "dh", &o->dh)) {
		tc = (struct tls_conf){ .is_server = true, .cert = full.cert, .key = full.key,
					.dh = full.dh, .client_cert = TLS_CLIENT_CERT_NONE };
		(void)tls_try(k, "dh", &tc);
	}
	if (k->is_server && !o->cert.data && !o->pkcs12.data)
		report(k, true, "cert", "server mode needs 'cert' and 'key' (or 'pkcs12')");
	if (k->is_client && !o->ca.data && !o->pkcs12.data && !o->peer_fingerprints.n)
		report(k, true, "ca", "a client needs 'ca' (or peer-fingerprint) to verify the server");
}

/* ---- control-channel keys ------------------------------------------------- */

static void check_wrap_key(struct check *k, const char *name, const struct options_file *f)
{
	char err[256], *buf = NULL;
	const char *text = f->data;
	uint8_t key[WKC_SERVER_KEY_LEN > KEY2_LEN ? WKC_SERVER_KEY_LEN : KEY2_LEN];
	size_t len = 0;
	int rc;

	if (!file_ok(k, name, f))
		return;
	if (!f->is_inline) {
		if (config_file_load(f->data, &buf, &len, err, sizeof(err))) {
			report(k, true, name, "%s", err);
			return;
		}
		text = buf;
	}
	if (strcmp(name, "tls-crypt-v2")) {
		rc = dc_static_key_parse_msg(text, key, err, sizeof(err));
		if (rc)
			report(k, true, name, "%s: not an OpenVPN static key (%s)", name, err);
	} else if (k->is_server) {
		if (wkc_server_key_parse(text, key))
			report(k, true, name, "tls-crypt-v2: not a tls-crypt-v2 server key");
	} else {
		struct tlswrap *w;

		rc = tlswrap_create_crypt_v2_client(&w, text, true);
		if (rc)
			report(k, true, name, "tls-crypt-v2: not a tls-crypt-v2 client key (%s)",
			       tlswrap_strerror(rc));
		else
			tlswrap_free(w);
	}
	OPENSSL_cleanse(key, sizeof(key));
	if (buf)
		config_file_unload(buf, len);
}

/* Each key once, wherever it is given (finalize copies the global ones into every entry). */
static void check_keys(struct check *k)
{
	const struct options *o = k->o;
	const char *seen[64];
	size_t ns = 0;

	for (size_t i = 0; i <= o->conns.n; i++) {
		const struct options_conn *ce = i < o->conns.n ? &o->conns.v[i] : &o->ce;
		const struct { const char *name; const struct options_file *f; } w[] = {
			{ "tls-auth", ce->tls_auth.data ? &ce->tls_auth : &o->tls_auth },
			{ "tls-crypt", ce->tls_crypt.data ? &ce->tls_crypt : &o->tls_crypt },
			{ "tls-crypt-v2", ce->tls_crypt_v2.data ? &ce->tls_crypt_v2 :
					  &o->tls_crypt_v2 },
		};

		for (size_t j = 0; j < ARRAY_SIZE(w); j++) {
			bool dup = false;

			for (size_t s = 0; s < ns; s++)
				dup |= seen[s] == w[j].f->data;
			if (!w[j].f->data || dup || ns == ARRAY_SIZE(seen))
				continue;
			seen[ns++] = w[j].f->data;
			check_wrap_key(k, w[j].name, w[j].f);
		}
	}
}

/* ---- algorithm names ------------------------------------------------------ */

static bool cipher_known(const char *name)
{
	EVP_CIPHER *c;

	if (!strcasecmp(name, "none"))
		return true;
	c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_free(c);
	ERR_clear_error();
	return c != NULL;
}

static void check_algorithms(struct check *k)
{
	const struct options *o = k->o;
	const char *list = o->data_ciphers;
	unsigned int runnable = 0;
	char name[64];

	while (list && *list) {
		size_t n = strcspn(list, ":");

		snprintf(name, sizeof(name), "%.*s", (int)MIN(n, sizeof(name) - 1), list);
		if (!cipher_known(name))
			report(k, true, "data-ciphers", "Unsupported cipher in --data-ciphers: %s", name);
		else if (dc_cipher_from_name(name) == DC_CIPHER_NONE)
			report(k, false, "data-ciphers", "%s is not a data channel sluice runs "
			       "(AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305): never negotiated", name);
		else
			runnable++;
		list += n;
		if (*list)
			list++;
	}
	if (o->data_ciphers && !runnable)
		report(k, true, "data-ciphers", "data-ciphers names no cipher sluice runs "
		       "(AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305)");
	if (o->cipher && !o->cipher_pushed && !cipher_known(o->cipher))
		report(k, true, "cipher", "Cipher %s not supported", o->cipher);
	if (o->data_ciphers_fallback && !cipher_known(o->data_ciphers_fallback))
		report(k, true, "data-ciphers-fallback", "Cipher %s not supported",
		       o->data_ciphers_fallback);
	if (o->auth && strcasecmp(o->auth, "none")) {
		EVP_MD *md = EVP_MD_fetch(NULL, o->auth, NULL);

		if (!md)
			report(k, true, "auth", "Message hash algorithm '%s' not found", o->auth);
		EVP_MD_free(md);
		ERR_clear_error();
	}
}

/* Stock's "--management is not specified, however one or more options ...". */
static void check_management(struct check *k)
{
	const struct options *o = k->o;
	static const struct { const char *name; size_t off; } dep[] = {
		{ "management-hold", offsetof(struct options, management_hold) },
		{ "management-query-passwords", offsetof(struct options, management_query_passwords) },
		{ "management-client-auth", offsetof(struct options, management_client_auth) },
	};

	if (o->management_addr) {
		if (o->management_hold && k->is_server)
			report(k, false, "management-hold", "a sluice server does not hold: it "
			       "starts at once (management-hold applies to a client)");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(dep); i++)
		if (*(const bool *)((const char *)o + dep[i].off))
			report(k, true, dep[i].name, "--management is not specified, however %s "
			       "modifies the behavior of --management", dep[i].name);
}

unsigned int check_config(const struct runcfg *rc, int argc, char **argv, bool to_log,
			  unsigned int *warnings)
{
	struct check *k = calloc(1, sizeof(*k));
	char err[256];
	unsigned int errors;

	if (!k)
		return 1;
	k->o = rc->opts;
	k->is_server = rc->is_server;
	k->is_client = rc->is_client;
	k->to_log = to_log;
	(void)config_read_argv(&k->arena, argc, argv, where_note, k, err, sizeof(err));
	check_files(k);
	if (k->is_server || k->is_client) {
		check_pem(k);
		check_keys(k);
	}
	check_algorithms(k);
	check_management(k);
	/* Layer 2 is the next step (README); refused here, so with its place. */
	if (k->o->dev_kind == OPT_DEV_TAP)
		report(k, true, k->o->dev_type ? "dev-type" : "dev",
		       "dev tap (layer 2, server-bridge) is not supported yet: sluice runs tun "
		       "devices only");
	errors = k->errors;
	if (warnings)
		*warnings = k->warnings;
	config_arena_free(&k->arena);
	free(k);
	return errors;
}
