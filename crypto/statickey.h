/*
 * statickey.h - the one parser of "OpenVPN Static key V1" text (openvpn-wire.md
 * §2.4), for tls-auth, tls-crypt and test-data-key files and inline blocks.
 * Kept apart from dc.h so that option loading needs no data-channel types.
 */
#ifndef SLUICE_STATICKEY_H
#define SLUICE_STATICKEY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/proto.h"

/*
 * Reads an "OpenVPN Static key V1" file's text (or an inline block) into 256
 * bytes (crypto/statickey.c, the only parser of this format). Any text
 * before the BEGIN line and after the END line is ignored, as are blank
 * lines and '#'/';' comment lines in between; the block must hold exactly
 * 256 bytes of hex. Returns 0 or -EINVAL (@out is zeroed then, and @err, if
 * not NULL, holds "static key: <reason>[ on line N]" in @errlen bytes; the
 * message never quotes key text). ctrl only.
 */
int dc_static_key_parse_msg(const char *text, uint8_t out[KEY2_LEN], char *err,
			    size_t errlen) __must_check;

/* dc_static_key_parse_msg() for callers that only need the verdict. */
static inline __must_check int dc_static_key_parse(const char *text, uint8_t out[KEY2_LEN])
{
	return dc_static_key_parse_msg(text, out, NULL, 0);
}

#endif
