/* SPDX-License-Identifier: MIT */
/* hipc tests — the program the process tests and fuzz target run: one
 * small behaviour per first argument, written with plain libc. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The descriptors open in this process, in order, one line. */
static int list_fds(void)
{
    int seen[64], n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) {
        /* No /proc (a test hides it): ask for each descriptor instead. */
        for (int fd = 0; fd < 4096 && n < 64; fd++)
            if (fcntl(fd, F_GETFD) >= 0)
                seen[n++] = fd;
        goto print;
    }
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        seen[n++] = atoi(e->d_name);
    }
    closedir(d);
print:
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && seen[j - 1] > seen[j]; j--) {
            int t = seen[j];
            seen[j] = seen[j - 1];
            seen[j - 1] = t;
        }
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", seen[i]);
    printf("\n");
    return 0;
}

/* The SigBlk and SigIgn lines of /proc/self/status. */
static int signals(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    if (f == NULL)
        return 2;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "SigBlk:", 7) == 0 ||
            strncmp(line, "SigIgn:", 7) == 0)
            fputs(line, stdout);
    fclose(f);
    return 0;
}

static int echo(void)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n)
            return 3;
    return n < 0 ? 4 : 0;
}

/* Says "ready" on stdout once set up, then waits for a signal. */
static int wait_ready(int ignore_term)
{
    if (ignore_term)
        signal(SIGTERM, SIG_IGN);
    if (write(1, "ready\n", 6) != 6)
        return 3;
    for (;;)
        pause();
}

static int spew(long n)
{
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    while (n > 0) {
        size_t k = n < (long)sizeof buf ? (size_t)n : sizeof buf;
        if (write(1, buf, k) != (ssize_t)k)
            return 3;
        n -= (long)k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    long arg = argc > 2 ? atol(argv[2]) : 0;
    if (strcmp(what, "fds") == 0)
        return list_fds();
    if (strcmp(what, "signals") == 0)
        return signals();
    if (strcmp(what, "echo") == 0)
        return echo();
    if (strcmp(what, "exit") == 0)
        return (int)arg;
    if (strcmp(what, "raise") == 0)
        return raise((int)arg) == 0 ? 0 : 5;
    if (strcmp(what, "sleep") == 0)
        return wait_ready(0);
    if (strcmp(what, "ignore-term") == 0)
        return wait_ready(1);
    if (strcmp(what, "spew") == 0)
        return spew(arg);
    if (strcmp(what, "ids") == 0) {
        printf("%d %d %d\n", (int)getpid(), (int)getpgid(0), (int)getsid(0));
        return 0;
    }
    if (strcmp(what, "cwd") == 0) {
        char buf[512];
        puts(getcwd(buf, sizeof buf) != NULL ? buf : "?");
        return 0;
    }
    if (strcmp(what, "both") == 0) {
        fputs("out\n", stdout);
        fflush(stdout);
        fputs("err\n", stderr);
        return 0;
    }
    if (strcmp(what, "env") == 0) {
        const char *v = getenv(argc > 2 ? argv[2] : "HIPC_TEST");
        puts(v != NULL ? v : "(unset)");
        return 0;
    }
    return 99;
}
