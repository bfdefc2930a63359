#ifndef TP_SRC_CLI_H
#define TP_SRC_CLI_H

struct config;

/* Global state every command sees. */
struct cli {
    const char *home;   /* --home, else $TIERPRESS_HOME, else ./tierpress-home */
    const char *prog;   /* "tierpress" */
    const char *config_file;   /* --config FILE, or NULL */
    const struct config *cfg;  /* the home's backends (config_setup); NULL for
                                * commands marked CLI_NO_HOME */
};

/* command.flags */
#define CLI_NO_HOME 1u /* works on files alone: no configuration is loaded */

/* One subcommand.  run() gets argv with argv[0] = the command name and
 * returns the process exit status (0 ok, 1 failure, 2 usage). */
struct command {
    const char *name;
    const char *summary;
    int (*run)(const struct cli *cli, int argc, char **argv);
    unsigned flags; /* CLI_* */
};

/* Prints "tierpress: <what>: <reason>" for error code err to stderr and
 * returns 1. what is usually the file name. */
int cli_fail(const char *what, int err);
/* Prints one line to stderr (printf-style; "\n" added), non-printable
 * bytes escaped (log_escape): every error line naming a file goes through
 * here or cli_fail. */
void cli_error_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_info(const struct cli *cli, int argc, char **argv);
int cmd_convert(const struct cli *cli, int argc, char **argv);
int cmd_ingest(const struct cli *cli, int argc, char **argv);
int cmd_ls(const struct cli *cli, int argc, char **argv);
int cmd_dups(const struct cli *cli, int argc, char **argv);
int cmd_get(const struct cli *cli, int argc, char **argv);
int cmd_access(const struct cli *cli, int argc, char **argv);
int cmd_run(const struct cli *cli, int argc, char **argv);
int cmd_gc(const struct cli *cli, int argc, char **argv);
int cmd_fsck(const struct cli *cli, int argc, char **argv);
int cmd_policy(const struct cli *cli, int argc, char **argv);
int cmd_ssim(const struct cli *cli, int argc, char **argv);
int cmd_video(const struct cli *cli, int argc, char **argv);
int cmd_simulate(const struct cli *cli, int argc, char **argv);
int cmd_catalog(const struct cli *cli, int argc, char **argv);
int cmd_config(const struct cli *cli, int argc, char **argv);
int cmd_worker(const struct cli *cli, int argc, char **argv);
int cmd_jobs(const struct cli *cli, int argc, char **argv);
int cmd_enqueue(const struct cli *cli, int argc, char **argv);
int cmd_migrate(const struct cli *cli, int argc, char **argv);
int cmd_import(const struct cli *cli, int argc, char **argv);
int cmd_health(const struct cli *cli, int argc, char **argv);
int cmd_serve(const struct cli *cli, int argc, char **argv);
int cmd_components(const struct cli *cli, int argc, char **argv);

#endif /* TP_SRC_CLI_H */
