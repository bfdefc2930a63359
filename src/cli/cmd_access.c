/* tierpress access import FILE.csv [--now TIME] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "timeutil.h"
#include "home.h"
#include "json.h"
#include "log.h"


/* Access logs carry unix seconds or ISO 8601. */
static int access_time_parse(const char *s, int64_t *t_out)
{
    char *end;
    if (*s >= '0' && *s <= '9') {
        long long v = strtoll(s, &end, 10);
        if (!*end) {
            *t_out = v;
            return 0;
        }
    }
    return time_parse(s, t_out);
}

static void access_help(FILE *f)
{
    fprintf(f, "usage: tierpress access import FILE.csv [--now TIME] [--json]\n"
               "\n"
               "Imports access events, one per line: ASSET_ID,TIMESTAMP (ISO 8601 such as\n"
               "2024-05-01T12:00:00Z, or unix seconds).  Blank lines, '#' comments and a\n"
               "header line are ignored.  Then recomputes every asset's last access and\n"
               "its access counts over the last 30, 90 and 365 days relative to --now\n"
               "(default: the newest timestamp in the file).  Bad lines are reported with\n"
               "their line number and skipped; the exit status is then 1.\n"
               "An event already imported (same asset, same second) is counted once:\n"
               "importing the same log twice changes nothing.  --json prints one object:\n"
               "{\"events\", \"new\", \"duplicate\", \"bad_lines\", \"as_of\"}.\n"
               "'-' reads standard input.\n");
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int cmd_access(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "now", required_argument, NULL, 'n' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *now_arg = NULL, *path;
    struct home home;
    int64_t now = 0, newest = INT64_MIN;
    long lineno = 0, good = 0, dup = 0, bad = 0;
    int json = 0;
    char line[1024];
    FILE *f;
    int c, ret;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': now_arg = optarg; break;
        case 'j': json = 1; break;
        case 'h': access_help(stdout); return 0;
        default: return cli_usage_error("access", "bad option");
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "import"))
        return cli_usage_error("access", "expected: access import FILE.csv");
    path = argv[optind + 1];
    if (now_arg && access_time_parse(now_arg, &now) < 0)
        return cli_usage_error("access", "--now: cannot parse '%s' as a time", now_arg);
    if (strcmp(path, "-")) {
        /* a FIFO or device named as the CSV is refused, never waited on */
        int fd = file_open_regular(path, NULL);
        if (fd < 0)
            return cli_fail(path, fd);
        if (!(f = fdopen(fd, "r"))) {
            close(fd);
            cli_error_line("tierpress: %s: %s", path, strerror(errno));
            return 1;
        }
    } else {
        f = stdin;
    }
    if ((ret = home_open(&home, cli->cfg)) < 0) {
        if (f != stdin)
            fclose(f);
        return cli_fail(cli->home, ret);
    }
    if ((ret = catalog_begin(home.cat)) < 0)
        goto end;
    while (fgets(line, sizeof(line), f)) {
        char *s, *comma, *end;
        long long id;
        int64_t t;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            cli_error_line("tierpress: %s:%ld: line too long", path, lineno);
            bad++;
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (!(comma = strchr(s, ','))) {
            cli_error_line("tierpress: %s:%ld: expected ASSET_ID,TIMESTAMP", path, lineno);
            bad++;
            continue;
        }
        *comma = '\0';
        char *ids = trim(s), *ts = trim(comma + 1);
        id = strtoll(ids, &end, 10);
        if (!*ids || *end || id <= 0) {
            if (lineno == 1 && !(*ids >= '0' && *ids <= '9'))
                continue; /* a header line */
            cli_error_line("tierpress: %s:%ld: '%s' is not an asset id", path, lineno, ids);
            bad++;
            continue;
        }
        if (access_time_parse(ts, &t) < 0) {
            cli_error_line("tierpress: %s:%ld: cannot parse time '%s'", path, lineno, ts);
            bad++;
            continue;
        }
        ret = catalog_access_log(home.cat, id, t);
        if (ret == TP_ERR_NOTFOUND) {
            cli_error_line("tierpress: %s:%ld: no asset %lld", path, lineno, id);
            tp_err_clear();
            bad++;
            continue;
        }
        if (ret < 0)
            goto fail;
        good++;
        dup += ret == 0;
        if (t > newest)
            newest = t;
    }
    if (ferror(f)) {
        ret = TP_ERR(EIO);
        tp_err_set("read error");
        goto fail;
    }
    if (!now_arg)
        now = good ? newest : (int64_t)time(NULL);
    if ((ret = catalog_access_refresh(home.cat, now)) < 0)
        goto fail;
    {
        char iso[CATALOG_TIME];
        char *detail = json_pack_text("{s:I, s:I, s:I, s:I}", "events", (json_int_t)good, "new",
                                      (json_int_t)(good - dup), "duplicate", (json_int_t)dup,
                                      "bad_lines", (json_int_t)bad);
        ret = detail ? catalog_audit(home.cat, 0, "access.import", detail) : TP_ERR(ENOMEM);
        free(detail);
        if (ret < 0)
            goto fail;
        if ((ret = catalog_commit(home.cat)) < 0)
            goto fail;
        time_format(now, iso, sizeof(iso));
        if (json) {
            json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:s}", "events", (json_int_t)good, "new",
                                  (json_int_t)(good - dup), "duplicate", (json_int_t)dup,
                                  "bad_lines", (json_int_t)bad, "as_of", iso);
            if (o)
                json_dumpf(o, stdout, JSON_COMPACT);
            putchar('\n');
            json_decref(o);
        } else {
            printf("%ld access events read: %ld new, %ld already imported; %ld bad lines; "
                   "statistics as of %s\n", good, good - dup, dup, bad, iso);
        }
    }
    goto end;
fail:
    catalog_rollback(home.cat);
end:
    if (f != stdin)
        fclose(f);
    home_close(&home);
    if (ret < 0)
        return cli_fail(path, ret);
    return bad ? 1 : 0;
}
