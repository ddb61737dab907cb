/*
 * testkey.h - the fixed-key test mode (`test-data-key`): the data plane with
 * one static key and no control channel, for the namespace tests and the
 * benchmarks. ctrl only.
 */
#ifndef SLUICE_TESTKEY_H
#define SLUICE_TESTKEY_H

#include "mode.h"

/* The test mode's operations (ctrl/mode.h). */
extern const struct mode_ops testkey_mode_ops;

#endif
