/*
 * pki.h - files for the unit tests that need real ones: a private temporary
 * directory removed at exit, interned paths in it, writing and reading whole
 * files, a throwaway PKI made by the openssl CLI, and the texts of key
 * files: "OpenVPN Static key V1" and PEM blocks (tls-crypt-v2 keys).
 *
 * Include after harness.h, from the test's one .c file (static state).
 * Main thread only.
 *
 * A PKI script is PKI_SCRIPT_HEAD followed by the test's own lines, run by
 * sh in the directory. The head writes pki.cnf (extensions v3_ca,
 * v3_server, v3_client, v3_noeku, v3_noku, and a database for `openssl ca`
 * as CA "ca") and defines:
 *   ec NAME                              an EC P-256 key NAME.key
 *   ca NAME SUBJECT                      a self-signed CA NAME.crt / NAME.key
 *   leaf NAME SUBJECT EXT ISSUER SERIAL [rsa]
 *                                        NAME.crt signed by ISSUER, with the
 *                                        extensions EXT (an RSA-2048 key if rsa)
 */
#ifndef SLUICE_TEST_PKI_H
#define SLUICE_TEST_PKI_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "harness.h"

#define PKI_PATHS_MAX		64
/* "#\n# 2048 bit OpenVPN static key\n#\n", BEGIN, 16 lines of 32 digits, END. */
#define PKI_STATIC_KEY_TEXT_MAX	1024

#define PKI_SCRIPT_HEAD								\
	"set -e\n"								\
	"cat > pki.cnf <<'EOF'\n"						\
	"[ req ]\n"								\
	"distinguished_name = dn\n"						\
	"prompt = no\n"								\
	"[ dn ]\n"								\
	"CN = unused\n"								\
	"[ v3_ca ]\n"								\
	"basicConstraints = critical, CA:true\n"				\
	"keyUsage = critical, keyCertSign, cRLSign\n"				\
	"subjectKeyIdentifier = hash\n"						\
	"[ v3_server ]\n"							\
	"basicConstraints = CA:false\n"						\
	"keyUsage = critical, digitalSignature, keyEncipherment\n"		\
	"extendedKeyUsage = serverAuth\n"					\
	"[ v3_client ]\n"							\
	"basicConstraints = CA:false\n"						\
	"keyUsage = critical, digitalSignature\n"				\
	"extendedKeyUsage = clientAuth\n"					\
	"[ v3_noeku ]\n"							\
	"basicConstraints = CA:false\n"						\
	"keyUsage = critical, digitalSignature, keyEncipherment\n"		\
	"[ v3_noku ]\n"								\
	"basicConstraints = CA:false\n"						\
	"extendedKeyUsage = serverAuth\n"					\
	"[ ca ]\n"								\
	"default_ca = ca1\n"							\
	"[ ca1 ]\n"								\
	"database = index.txt\n"						\
	"new_certs_dir = .\n"							\
	"certificate = ca.crt\n"						\
	"private_key = ca.key\n"						\
	"serial = serial\n"							\
	"default_md = sha256\n"							\
	"default_crl_days = 30\n"						\
	"policy = pol\n"							\
	"unique_subject = no\n"							\
	"[ pol ]\n"								\
	"commonName = supplied\n"						\
	"EOF\n"									\
	"ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key; }\n" \
	"ca() { ec $1; openssl req -x509 -new -key $1.key -out $1.crt -days 30 -subj \"$2\" " \
	"-config pki.cnf -extensions v3_ca; }\n"				\
	"leaf() {\n"								\
	"  if [ \"$6\" = rsa ]; then openssl genpkey -algorithm RSA "		\
	"-pkeyopt rsa_keygen_bits:2048 -out $1.key; else ec $1; fi\n"		\
	"  openssl req -new -key $1.key -out $1.csr -subj \"$2\" -config pki.cnf\n" \
	"  openssl x509 -req -in $1.csr -CA $4.crt -CAkey $4.key -set_serial $5 -days 30 " \
	"-out $1.crt -extfile pki.cnf -extensions $3 2>/dev/null\n"		\
	"}\n"

/* The test's directory ("" until pki_dir_make). */
static char pki_dir[64];

/* "<dir>/<name>", interned: the same pointer for the life of the test. */
static inline const char *pki_path(const char *name)
{
	static struct {
		char name[32];
		char full[128];
	} paths[PKI_PATHS_MAX];
	static unsigned int n;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(paths[i].name, name))
			return paths[i].full;
	REQUIRE(n < PKI_PATHS_MAX && strlen(name) < sizeof(paths[0].name), "path table full");
	strcpy(paths[n].name, name);
	snprintf(paths[n].full, sizeof(paths[0].full), "%s/%s", pki_dir, name);
	return paths[n++].full;
}

static inline void pki_dir_remove(void)
{
	char cmd[128];

	if (pki_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki_dir);
		if (system(cmd))
			printf("cleanup of %s failed\n", pki_dir);
	}
}

/* Makes /tmp/sluice-<tag>-XXXXXX, removed at exit. A failure ends the test. */
static inline void pki_dir_make(const char *tag)
{
	snprintf(pki_dir, sizeof(pki_dir), "/tmp/sluice-%s-XXXXXX", tag);
	if (!mkdtemp(pki_dir)) {
		pki_dir[0] = '\0';
		FATAL("mkdtemp failed");
	}
	atexit(pki_dir_remove);
}

static inline void pki_write(const char *name, const char *text)
{
	FILE *f = fopen(pki_path(name), "w");

	REQUIRE(f && fputs(text, f) >= 0 && !fclose(f), "cannot write %s", name);
}

/* The text of file @name in one of four rotating 8 KiB buffers, or NULL. */
static inline char *pki_slurp(const char *name)
{
	static char buf[4][8192];
	static unsigned int i;
	FILE *f = fopen(pki_path(name), "r");
	char *p = buf[i++ % 4];
	size_t n;

	if (!f)
		return NULL;
	n = fread(p, 1, sizeof(buf[0]) - 1, f);
	p[n] = '\0';
	fclose(f);
	return p;
}

/*
 * Makes the directory (tag @tag) and runs @script (PKI_SCRIPT_HEAD and the
 * test's lines) in it. Skips the test (exit 77) without the openssl CLI;
 * on a script error prints its log and ends the test as failed.
 */
static inline void pki_make(const char *tag, const char *script)
{
	char cmd[256];

	if (system("command -v openssl >/dev/null 2>&1"))
		harness_skip("no openssl CLI to make a test PKI");
	pki_dir_make(tag);
	pki_write("pki.sh", script);
	snprintf(cmd, sizeof(cmd), "cd '%s' && sh ./pki.sh >pki.log 2>&1", pki_dir);
	if (system(cmd)) {
		snprintf(cmd, sizeof(cmd), "cat '%s/pki.log'", pki_dir);
		if (system(cmd))
			printf("no pki.log\n");
		FATAL("PKI generation failed");
	}
}

/* @key as `openvpn --genkey secret` writes it, into @text (PKI_STATIC_KEY_TEXT_MAX bytes). */
static inline void pki_static_key_text(char *text, const uint8_t key[256])
{
	char *p = text;

	p += sprintf(p, "#\n# 2048 bit OpenVPN static key\n#\n"
		     "-----BEGIN OpenVPN Static key V1-----\n");
	for (int i = 0; i < 256; i++)
		p += sprintf(p, "%02x%s", key[i], i % 16 == 15 ? "\n" : "");
	sprintf(p, "-----END OpenVPN Static key V1-----\n");
}

/*
 * @len bytes of @der as a PEM block "-----BEGIN @name-----", 64 base64
 * digits a line as OpenVPN writes its keys, into @out (4 * len / 3 + len /
 * 48 + 80 + 2 * strlen(@name) bytes suffice). Returns the text's length.
 */
static inline size_t pki_pem_text(char *out, const char *name, const uint8_t *der, size_t len)
{
	char *p = out;

	p += sprintf(p, "-----BEGIN %s-----\n", name);
	for (size_t off = 0; off < len; off += 48) {
		size_t n = len - off < 48 ? len - off : 48;

		p += EVP_EncodeBlock((unsigned char *)p, der + off, (int)n);
		*p++ = '\n';
	}
	p += sprintf(p, "-----END %s-----\n", name);
	return (size_t)(p - out);
}

#endif
