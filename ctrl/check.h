/*
 * check.h - the configuration checks that need no device and no socket
 * (ctrl/check.c): files readable, PEM blocks that load, key matching
 * certificate, control-channel keys, algorithm names, management options.
 * `sluice --config FILE --check` prints them; every start runs them first.
 * ctrl (the main thread) only.
 */
#ifndef SLUICE_CHECK_H
#define SLUICE_CHECK_H

#include <stdbool.h>

struct runcfg;

/*
 * Checks the configuration @rc was built from (@argc/@argv: the command
 * line it came from, read again to name each directive's FILE:LINE). Each
 * problem is one line "FILE:LINE: error|warning: ..." on stdout, or in the
 * log with @to_log. Returns the number of errors; *@warnings (may be NULL)
 * gets the number of warnings.
 */
unsigned int check_config(const struct runcfg *rc, int argc, char **argv, bool to_log,
			  unsigned int *warnings);

#endif
