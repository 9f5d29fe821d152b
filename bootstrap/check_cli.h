/*
 * check_cli: `bootstrap check`, the read-only preflight check run from an operator's shell
 * (rotators/check.h): the checks and report of a check event in Lambda, with the shell's AWS
 * credentials, network and environment. The strategy comes from the secret, as Handler auto
 * decides, unless --strategy names one. There is no "this function": the report names the
 * rotation function the secret names, and a database the shell cannot reach fails with a note
 * that the check ran outside the function's VPC.
 *
 * Output: a table for people, or with --json the report itself. Exit status: 0 when every check
 * passed, 1 when one failed (or the report could not be made), 2 for a usage error.
 */
#ifndef CHECK_CLI_H
#define CHECK_CLI_H

/* Runs `bootstrap check`; argv[0] is "check". Returns the exit status. */
int check_cli_main(int argc, char **argv);

#endif
