/* Runs every registered unit test (or those whose name contains argv[1]). */
#include <stdio.h>
#include <string.h>

#include "unit.h"

static struct unit_test *head, **tail = &head;
static const char *skip_why;

void unit_register(struct unit_test *t)
{
    *tail = t;
    tail = &t->next;
}

void unit_skip(const char *why)
{
    skip_why = why;
}

int main(int argc, char **argv)
{
    int failures = 0;
    for (struct unit_test *t = head; t; t = t->next) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        int failed = 0;
        skip_why = NULL;
        t->fn(&failed);
        printf("%s - unit/%s%s%s\n", failed ? "not ok" : "ok", t->name,
               skip_why && !failed ? " # skip " : "", skip_why && !failed ? skip_why : "");
        fflush(stdout);
        failures += failed;
    }
    return failures ? 1 : 0;
}
