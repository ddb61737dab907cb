/*
 * srvsess_fixture.h - the fixed world of fuzz_srvsess.c, made once in
 * LLVMFuzzerInitialize: the deterministic RNG that replaces OpenSSL's (reset
 * for every input, so a handshake replays byte for byte), the PKI (EC P-256
 * with fixed dates), the static and tls-crypt-v2 keys, the server's and the
 * client's TLS contexts, the server options and the first-packet classifiers.
 *
 * Part of the one translation unit fuzz_srvsess.c: it includes this after its
 * constants (N_WRAPS, N_CLIENT_TLS, ...) and before the client half
 * (srvsess_client.h). Single-threaded, like the harness.
 */
#ifndef SLUICE_FUZZ_SRVSESS_FIXTURE_H
#define SLUICE_FUZZ_SRVSESS_FIXTURE_H

/* ---- deterministic RNG -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int rng_bytes(unsigned char *buf, int num)
{
	uint64_t z = 0;

	for (int i = 0; i < num; i++) {
		if (!(i & 7))
			z = rng_next();
		buf[i] = (unsigned char)(z >> (8 * (i & 7)));
	}
	return 1;
}

static int rng_seed(const void *buf, int num)
{
	(void)buf;
	(void)num;
	return 1;
}

static int rng_add(const void *buf, int num, double entropy)
{
	(void)buf;
	(void)num;
	(void)entropy;
	return 1;
}

static int rng_status(void)
{
	return 1;
}

static RAND_METHOD rng_method = {
	.seed = rng_seed,
	.bytes = rng_bytes,
	.add = rng_add,
	.pseudorand = rng_bytes,
	.status = rng_status,
};

/* ---- PKI ------------------------------------------------------------------------ */

static char *pem_ca, *pem_srv_crt, *pem_srv_key, *pem_cli_crt, *pem_cli_key;
static char *pem_cli2_crt, *pem_cli2_key;		/* another CN: "client2" */

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_srvsess: init: %s failed\n", what);
		abort();
	}
}

static void pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	must(e && X509_add_ext(x, e, -1), "X509_add_ext");
	X509_EXTENSION_free(e);
}

/* @eku NULL: a CA. Fixed dates, so the certificate is the same in every run. */
static X509 *pki_cert(EVP_PKEY *key, const char *cn, long serial, X509 *issuer,
		      EVP_PKEY *ikey, const char *eku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	must(x && name, "X509_new");
	must(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"Sluice Fuzz", -1, -1, 0) &&
	     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
					-1, -1, 0), "X509_NAME");
	must(X509_set_version(x, X509_VERSION_3) &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), serial) &&
	     X509_set_subject_name(x, name) &&
	     X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
	     ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20200101000000Z") &&
	     ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "20491231000000Z") &&
	     X509_set_pubkey(x, key), "X509 fields");
	X509_NAME_free(name);
	if (!eku) {
		pki_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		pki_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		pki_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		pki_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		pki_ext(x, issuer, NID_ext_key_usage, eku);
	}
	must(X509_sign(x, ikey, EVP_sha256()) > 0, "X509_sign");
	return x;
}

static char *pem_of(X509 *x, EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	must(b && (x ? PEM_write_bio_X509(b, x) :
		   PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)), "PEM write");
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	must(out != NULL, "strndup");
	BIO_free(b);
	return out;
}

static void pki_make(void)
{
	EVP_PKEY *ck = EVP_EC_gen("P-256"), *sk = EVP_EC_gen("P-256");
	EVP_PKEY *lk = EVP_EC_gen("P-256"), *lk2 = EVP_EC_gen("P-256");
	X509 *ca, *srv, *cli, *cli2;

	must(ck && sk && lk && lk2, "EVP_EC_gen");
	ca = pki_cert(ck, "Sluice Fuzz CA", 1, NULL, ck, NULL);
	srv = pki_cert(sk, "fuzz-server", 2, ca, ck, "serverAuth");
	cli = pki_cert(lk, "client1", 3, ca, ck, "clientAuth");
	cli2 = pki_cert(lk2, "client2", 4, ca, ck, "clientAuth");
	pem_ca = pem_of(ca, NULL);
	pem_srv_crt = pem_of(srv, NULL);
	pem_srv_key = pem_of(NULL, sk);
	pem_cli_crt = pem_of(cli, NULL);
	pem_cli_key = pem_of(NULL, lk);
	pem_cli2_crt = pem_of(cli2, NULL);
	pem_cli2_key = pem_of(NULL, lk2);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	X509_free(cli2);
	EVP_PKEY_free(ck);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(lk);
	EVP_PKEY_free(lk2);
}

/* ---- fixed server-side state ---------------------------------------------------- */

static uint8_t static_key[KEY2_LEN], v2_server_key[WKC_SERVER_KEY_LEN];
static char v2_pem[2048];
static const uint8_t cookie_key[COOKIE_KEY_LEN] = { 0x5e, 0x55, 0x10, 0x4e };
static const uint8_t client_sid[SID_LEN] = { 0xc1, 0x1e, 0x47, 0x5e, 0x55, 0x10, 0x4e, 0x01 };
static struct firstpkt *classifiers[N_WRAPS];
static struct tls_ctx *srv_tls[2];		/* client cert required / optional */
/* Client: cert + TLS 1.3, cert + 1.2, no cert + 1.3, no cert + 1.2, client2 + 1.3. */
static struct tls_ctx *cli_tls[N_CLIENT_TLS + 1];
static struct options srv_opt[2];		/* reneg-sec off / 20 */
static FILE *devnull;
static char long_push[4096];

/* Client key file: Kc || WKc made with the server key, PEM (as openvpn --genkey). */
static void make_v2_pem(void)
{
	static uint8_t der[KEY2_LEN + WKC_DEFAULT_LEN];
	static const uint8_t meta[9] = { WKC_META_TYPE_TIMESTAMP, 0, 0, 0, 0, 0x65, 0, 0, 1 };
	struct wkc_server *ws;
	char line[80], *p = v2_pem;

	for (int i = 0; i < KEY2_LEN; i++)
		der[i] = (uint8_t)(i * 29 + 17);
	must(!wkc_server_create(&ws, v2_server_key) &&
	     wkc_wrap(ws, der, meta, sizeof(meta), der + KEY2_LEN, WKC_DEFAULT_LEN) ==
	     WKC_DEFAULT_LEN, "wkc_wrap");
	wkc_server_free(ws);
	p += sprintf(p, "-----BEGIN OpenVPN tls-crypt-v2 client key-----\n");
	for (size_t off = 0; off < sizeof(der); off += 48) {
		size_t n = sizeof(der) - off < 48 ? sizeof(der) - off : 48;

		EVP_EncodeBlock((unsigned char *)line, der + off, (int)n);
		p += sprintf(p, "%s\n", line);
	}
	sprintf(p, "-----END OpenVPN tls-crypt-v2 client key-----\n");
}

static void make_tls(void)
{
	char err[512];

	for (int i = 0; i < 2; i++) {
		struct tls_conf tc = {
			.is_server = true,
			.ca = { pem_ca, true },
			.cert = { pem_srv_crt, true },
			.key = { pem_srv_key, true },
			.remote_cert_tls = TLS_CERT_TLS_CLIENT,
			.client_cert = i ? TLS_CLIENT_CERT_OPTIONAL : TLS_CLIENT_CERT_REQUIRE,
		};

		if (tls_ctx_create(&srv_tls[i], &tc, err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: %s\n", err);
			abort();
		}
	}
	for (int i = 0; i <= N_CLIENT_TLS; i++) {
		bool cert = i < 2 || i == N_CLIENT_TLS;
		struct tls_conf tc = {
			.ca = { pem_ca, true },
			.cert = { !cert ? NULL : i < 2 ? pem_cli_crt : pem_cli2_crt, true },
			.key = { !cert ? NULL : i < 2 ? pem_cli_key : pem_cli2_key, true },
			.version_max = i & 1 ? TLS_VER_1_2 : TLS_VER_DEFAULT,
			.remote_cert_tls = TLS_CERT_TLS_SERVER,
		};

		if (tls_ctx_create(&cli_tls[i], &tc, err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: %s\n", err);
			abort();
		}
	}
}

static void make_options(void)
{
	static const char *const text[2] = {
		"mode server\ntls-server\ndev tun\nca ca.crt\ncert s.crt\nkey s.key\ndh none\n"
		"hand-window 30\ntran-window 10\nreneg-sec 0\n",
		"mode server\ntls-server\ndev tun\nca ca.crt\ncert s.crt\nkey s.key\ndh none\n"
		"hand-window 30\ntran-window 10\nreneg-sec 20 20\n",
	};
	char err[512];

	for (int i = 0; i < 2; i++) {
		options_init(&srv_opt[i]);
		if (options_load_buffer(&srv_opt[i], "fuzz.conf", text[i], strlen(text[i]), err,
					sizeof(err)) ||
		    options_finalize(&srv_opt[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz_srvsess: options: %s\n", err);
			abort();
		}
	}
}

static void make_classifiers(void)
{
	for (int w = 0; w < N_WRAPS; w++) {
		struct firstpkt_cfg fc = {
			.wrap = (enum firstpkt_wrap)w,
			.key = w == FIRSTPKT_WRAP_TLS_CRYPT_V2 ? v2_server_key :
			       w == FIRSTPKT_WRAP_NONE ? NULL : static_key,
			.auth_direction = 0,
			.cookie_key = cookie_key,
			.budget_unlimited = true,
		};

		must(!firstpkt_create(&classifiers[w], &fc), "firstpkt_create");
	}
}

#endif
