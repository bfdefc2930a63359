/* Runs every registered unit test (or those whose name contains argv[1]). */
#include <stdio.h>
#include <string.h>

#include "unit.h"

static struct unit_test *head, **tail = &head;

void unit_register(struct unit_test *t)
{
    *tail = t;
    tail = &t->next;
}

int main(int argc, char **argv)
{
    int failures = 0;
    for (struct unit_test *t = head; t; t = t->next) {
        if (argc > 1 && !strstr(t->name, argv[1]))
            continue;
        int failed = 0;
        t->fn(&failed);
        printf("%s - unit/%s\n", failed ? "not ok" : "ok", t->name);
        fflush(stdout);
        failures += failed;
    }
    return failures ? 1 : 0;
}
