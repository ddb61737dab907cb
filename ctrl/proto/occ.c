/*
 * occ.c - owns the OCC in-band message format (occ.h). Pure; ctrl only.
 */
#include <errno.h>
#include <string.h>

#include "../../core/proto.h"
#include "occ.h"

int occ_parse(const uint8_t *msg, size_t len)
{
	if (len < OCC_MAGIC_LEN + 1 || memcmp(msg, OCC_MAGIC, OCC_MAGIC_LEN))
		return -1;
	return msg[OCC_MAGIC_LEN];
}

int occ_build(uint8_t *out, size_t cap, int op, const char *options)
{
	size_t olen = op == OCC_REPLY && options ? strlen(options) + 1 : 0;

	if (OCC_MAGIC_LEN + 1 + olen > cap)
		return -ENOSPC;
	memcpy(out, OCC_MAGIC, OCC_MAGIC_LEN);
	out[OCC_MAGIC_LEN] = (uint8_t)op;
	if (olen)
		memcpy(out + OCC_MAGIC_LEN + 1, options, olen);
	return (int)(OCC_MAGIC_LEN + 1 + olen);
}
