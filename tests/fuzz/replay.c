/* Replays files through a harness without libFuzzer: replay_<name> FILE|DIR...
 * Each input is run once; a crash or sanitizer report fails the run. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || (n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(b);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(b, (size_t)n);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "%s: no such file\n", argv[i]);
            bad++;
        } else if (S_ISDIR(st.st_mode)) {
            struct dirent **ents;
            int k = scandir(argv[i], &ents, NULL, alphasort);
            for (int j = 0; j < k; j++) {
                char p[4096];
                snprintf(p, sizeof(p), "%s/%s", argv[i], ents[j]->d_name);
                if (ents[j]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                    bad += run_file(p);
                    n++;
                }
                free(ents[j]);
            }
            free(ents);
        } else {
            bad += run_file(argv[i]);
            n++;
        }
    }
    printf("%d inputs replayed\n", n);
    return bad ? 1 : 0;
}
