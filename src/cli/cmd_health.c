/* tierpress health [--json] */
#include "cli.h"

int cmd_health(const struct cli *cli, int argc, char **argv)
{
    (void)cli; (void)argc; (void)argv;
    return cli_usage_error("health", "not built yet");
}
