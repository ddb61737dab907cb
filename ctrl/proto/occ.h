/*
 * occ.h - OpenVPN's in-band OCC messages on the data channel (stock occ.c):
 * OCC_MAGIC (16 bytes), an opcode byte, and for OCC_REPLY the sender's
 * options string with its NUL. sluice answers OCC_REQUEST with its options
 * string (a client probes a path with it: the answer is an authenticated
 * packet the peer sends at once) and takes OCC_EXIT as the peer leaving.
 * Pure; ctrl only.
 */
#ifndef SLUICE_OCC_H
#define SLUICE_OCC_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"
#include "../../core/proto.h"


/* The OCC opcode of in-band message @msg (@len bytes), or -1 if it is not OCC. */
int occ_parse(const uint8_t *msg, size_t len);
/*
 * Builds OCC message @op (OCC_* of core/proto.h) into @out (@cap bytes); @options (OCC_REPLY only)
 * is appended with its NUL. Returns the length or -ENOSPC.
 */
int occ_build(uint8_t *out, size_t cap, int op, const char *options) __must_check;

#endif
