/*
 * fuzz_ctlmsg.c - libFuzzer harness for the control-message splitter and
 * classifier (ctrl/proto/ctlmsg.h). The input is one TLS read. Every command must
 * lie inside the buffer; a well-formed one must have no control characters,
 * must rebuild with ctlmsg_build and must classify the same when parsed back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/ctlmsg.h"

static char out[CTLMSG_MAX];

static void check_rebuild(const struct ctlmsg *m)
{
	struct ctlmsg_iter it;
	struct ctlmsg again;
	int n = ctlmsg_build(out, sizeof(out), m->text);

	if (m->len + 1 > CTLMSG_MAX) {
		if (n != -EMSGSIZE)
			abort();
		return;
	}
	if (n != (int)m->len + 1)
		abort();
	ctlmsg_iter_init(&it, out, (size_t)n);
	if (!ctlmsg_next(&it, &again) || again.type != m->type || strcmp(again.arg, m->arg) ||
	    again.keep_auth != m->keep_auth || again.next_remote != m->next_remote ||
	    again.is_temp != m->is_temp || again.timeout != m->timeout ||
	    ctlmsg_next(&it, &again))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctlmsg_iter it;
	struct ctlmsg m;
	size_t count = 0, i;
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ctlmsg_iter_init(&it, buf, size);
	while (ctlmsg_next(&it, &m)) {
		if (++count > size || !m.text || m.text < buf || m.text + m.len > buf + size ||
		    !m.arg || !ctlmsg_type_name(m.type))
			abort();
		if (m.type == CTLMSG_INVALID)
			continue;
		if (strlen(m.text) != m.len || !m.len)
			abort();
		for (i = 0; i < m.len; i++)
			if ((unsigned char)m.text[i] < 0x20 || m.text[i] == 0x7f)
				abort();
		/* A non-empty argument lies inside the command ("" may be a literal). */
		if (*m.arg && (m.arg < m.text || m.arg > m.text + m.len))
			abort();
		check_rebuild(&m);
	}
	free(buf);
	return 0;
}
