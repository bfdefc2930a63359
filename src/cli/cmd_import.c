/* tierpress import takeout PATH... | import dir PATH... [--json] [--no-isolate] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "import.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "sandbox.h"

static void import_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress import takeout PATH... [--json]\n"
        "       tierpress import dir PATH... [--json]\n"
        "\n"
        "Moves a library in.  'takeout' reads a Google Takeout export: its\n"
        "takeout-*.zip / .tgz parts in place (never unpacked; a photo and its\n"
        "sidecar may be in different parts) or the unpacked folder.  Each photo\n"
        "and video is ingested as by 'ingest' (stored once, proxies made) and its\n"
        "JSON sidecar, matched by Google's naming rules, fills what the file\n"
        "lacks: capture time (photoTakenTime), location (geoData; 0,0 means none),\n"
        "description, favourite, archived, trashed.  The file's own EXIF time wins\n"
        "over the sidecar's; the catalog keeps both and says which it uses.\n"
        "Folders with a metadata.json are albums; 'Photos from YYYY' folders are\n"
        "not.  'dir' reads a folder tree with XMP sidecars (IMG_1234.xmp or\n"
        "IMG_1234.jpg.xmp, as darktable and Lightroom write them).\n"
        "\n"
        "Importing again adds nothing, and an interrupted import continues where\n"
        "it stopped: every imported file is recorded in the catalog.  Entries\n"
        "whose names leave the export ('../', absolute) are refused.  A corrupt\n"
        "part is reported by name and the other parts are imported (exit 1).\n"
        "Progress (files and bytes) goes to a terminal's stderr, else to the log\n"
        "(-v) every tenth of the files.  Files are decoded in a sandboxed worker\n"
        "process, as by 'ingest'.\n"
        "\n"
        "  --json        the final report as one JSON object\n"
        "  --no-isolate  decode in this process instead of the sandboxed worker\n"
        "                (faster; a codec crash then ends the whole import)\n");
}

struct progress {
    int tty;
    int64_t next; /* not a terminal: a log line (-v) every tenth of the files */
};

static void show_progress(void *ud, const struct import_report *r)
{
    struct progress *p = ud;
    double pct = r->bytes_total ? 100.0 * (double)r->bytes_done / (double)r->bytes_total : 100;
    if (!p->tty) {
        if (r->files_done >= p->next) {
            tp_log(TP_LOG_INFO, "import: %lld/%lld files, %.1f/%.1f MB (%.0f%%)",
                   (long long)r->files_done, (long long)r->files_total, r->bytes_done / 1e6,
                   r->bytes_total / 1e6, pct);
            p->next = r->files_done + (r->files_total + 9) / 10;
        }
        return;
    }
    fprintf(stderr, "\rimport: %lld/%lld files, %.1f/%.1f MB (%.0f%%)  ",
            (long long)r->files_done, (long long)r->files_total, r->bytes_done / 1e6,
            r->bytes_total / 1e6, pct);
    if (r->files_done == r->files_total)
        fputc('\n', stderr);
}

static int set_list(json_t *o, const char *key, const struct import_list *l)
{
    json_t *a = json_array();
    int bad = !a;
    for (int i = 0; !bad && i < l->n; i++)
        bad = json_array_append_new(a, json_text(l->v[i])) < 0;
    if (bad) {
        json_decref(a);
        return TP_ERR(ENOMEM);
    }
    return json_set_new(o, key, a);
}

/* The import report (docs/json.md). */
static int print_json(const struct import_report *r)
{
    json_t *o = json_object();
    int bad = json_set_int(o, "media", (long long)r->media) < 0 ||
              json_set_int(o, "imported", (long long)r->imported) < 0 ||
              json_set_int(o, "duplicates", (long long)r->duplicates) < 0 ||
              json_set_int(o, "already_imported", (long long)r->resumed) < 0 ||
              json_set_int(o, "failed", (long long)r->failed) < 0 ||
              json_set_int(o, "sidecars", (long long)r->sidecars) < 0 ||
              json_set_int(o, "sidecars_matched", (long long)r->sidecars_matched) < 0 ||
              json_set_int(o, "sidecars_unmatched", r->unmatched.n) < 0 ||
              json_set_int(o, "media_without_sidecar", r->no_sidecar.n) < 0 ||
              json_set_int(o, "capture_time_from_sidecar", (long long)r->with_capture_time) < 0 ||
              json_set_int(o, "location_from_sidecar", (long long)r->with_location) < 0 ||
              json_set_int(o, "album_links", (long long)r->album_links) < 0 ||
              json_set_int(o, "pairs_linked", (long long)r->pairs_linked) < 0 ||
              json_set_int(o, "files", (long long)r->files_done) < 0 ||
              json_set_int(o, "bytes", (long long)r->bytes_done) < 0 ||
              set_list(o, "unmatched_sidecars", &r->unmatched) < 0 ||
              set_list(o, "without_sidecar", &r->no_sidecar) < 0 ||
              set_list(o, "skipped", &r->skipped) < 0 || set_list(o, "errors", &r->errors) < 0;
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    return json_print(stdout, o);
}

static void print_list(const char *title, const struct import_list *l)
{
    if (!l->n)
        return;
    printf("%s:\n", title);
    for (int i = 0; i < l->n; i++) {
        char esc[4096];
        log_escape(esc, sizeof(esc), l->v[i]);
        printf("  %s\n", esc);
    }
}

static void print_table(const struct import_report *r)
{
    printf("%-28s %10lld\n", "media files", (long long)r->media);
    printf("%-28s %10lld\n", "imported (new assets)", (long long)r->imported);
    printf("%-28s %10lld\n", "duplicates", (long long)r->duplicates);
    printf("%-28s %10lld\n", "already imported", (long long)r->resumed);
    printf("%-28s %10lld\n", "failed", (long long)r->failed);
    printf("%-28s %10lld\n", "sidecars", (long long)r->sidecars);
    printf("%-28s %10lld\n", "sidecars matched", (long long)r->sidecars_matched);
    printf("%-28s %10d\n", "sidecars unmatched", r->unmatched.n);
    printf("%-28s %10d\n", "media without sidecar", r->no_sidecar.n);
    printf("%-28s %10lld\n", "capture time from sidecar", (long long)r->with_capture_time);
    printf("%-28s %10lld\n", "location from sidecar", (long long)r->with_location);
    printf("%-28s %10lld\n", "album memberships", (long long)r->album_links);
    printf("%-28s %10lld\n", "motion photos linked", (long long)r->pairs_linked);
    printf("%-28s %10d\n", "skipped", r->skipped.n);
    print_list("sidecars unmatched", &r->unmatched);
    print_list("media without sidecar", &r->no_sidecar);
    print_list("skipped", &r->skipped);
    print_list("errors", &r->errors);
}

int cmd_import(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "no-isolate", no_argument, NULL, 'I' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ingest_opts o;
    struct import_report r;
    struct progress pr = { isatty(2), 1 };
    struct home home;
    enum import_mode mode;
    struct sandbox_pool *pool = NULL;
    int c, json = 0, ret, isolate = 1;

    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        import_help(stdout);
        return 0;
    }
    if (argc < 2)
        return cli_usage_error("import", "expects 'takeout' or 'dir'");
    if (!strcmp(argv[1], "takeout"))
        mode = IMPORT_TAKEOUT;
    else if (!strcmp(argv[1], "dir"))
        mode = IMPORT_DIR;
    else
        return cli_usage_error("import", "unknown source '%s' (takeout or dir)", argv[1]);
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'I': isolate = 0; break;
        case 'h': import_help(stdout); return 0;
        default: return cli_usage_error("import", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("import", "no PATH given");
    /* every path first: a typo changes nothing (not even a new home) */
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0)
            return cli_fail(argv[i], TP_ERR(errno));
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
            cli_error_line("tierpress: %s: %s, not an archive or a folder", argv[i],
                           file_type_name(st.st_mode));
            return 1;
        }
    }
    ingest_defaults(&o);
    if ((ret = home_open_mode(&home, cli->cfg, HOME_CREATE)) < 0)
        return cli_fail(cli->home, ret);
    if (isolate) {
        /* one resident worker for the import, as ingest's */
        signal(SIGPIPE, SIG_IGN); /* a worker may die before reading its request */
        if ((ret = ingest_pool_open(&pool, 1)) < 0) {
            home_close(&home);
            return cli_fail("sandbox", ret);
        }
        sandbox_pool_lazy(pool);
        o.isolate = 1;
        o.pool = pool;
    }
    ret = import_run(&home, mode, argv + optind, argc - optind, &o, &r, show_progress, &pr);
    sandbox_pool_close(&pool);
    if (ret < 0) {
        cli_fail(argv[optind], ret);
        import_report_free(&r);
        home_close(&home);
        return 1;
    }
    for (int i = 0; i < r.errors.n; i++)
        cli_error_line("tierpress: %s", r.errors.v[i]);
    int pret = 0;
    if (json)
        pret = print_json(&r);
    else
        print_table(&r);
    import_report_free(&r);
    home_close(&home);
    if (pret < 0)
        return cli_fail("import", pret);
    return ret ? 1 : 0;
}
