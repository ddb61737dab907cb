/*
 * cli.h - sluice's commands that are not a daemon run: `sluice status`
 * (ctrl/cli_status.c), `sluice --config FILE --check` and `sluice --help`
 * (ctrl/cli_check.c). main.c dispatches to them before it reads a
 * configuration. Each returns the process's exit status.
 */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

/* `sluice status [--json] [TARGET]`: @argc/@argv are the words after "status". */
int cli_status_main(int argc, char **argv);

#endif
