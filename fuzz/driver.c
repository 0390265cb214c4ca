/* SPDX-License-Identifier: MIT */
/* hipc fuzz driver — the main() for every engine but libFuzzer.
 *
 * With arguments it replays files and directories of inputs (CTest runs each
 * target's corpus this way; it is also how a crash is reproduced). Built by
 * afl-clang-fast and started without arguments it runs AFL++'s persistent,
 * shared-memory mode; any other build without arguments reads one input
 * from standard input.
 *
 * Each input is copied into a heap buffer of exactly its size, so that
 * AddressSanitizer reports a read even one byte past the end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Largest input read from a file or standard input; the targets bound
 * everything they do far below this. */
#define DRIVER_MAX_INPUT (1u << 20)

static void run_exact(const uint8_t *data, size_t size)
{
    /* malloc(0) gives a unique pointer ASan treats as zero bytes long. */
    uint8_t *copy = malloc(size);
    if (copy == NULL && size != 0) {
        fprintf(stderr, "driver: out of memory for %zu bytes\n", size);
        exit(2);
    }
    if (size != 0)
        memcpy(copy, data, size);
    LLVMFuzzerTestOneInput(copy, size);
    free(copy);
}

static int read_all(FILE *f, uint8_t *buf, size_t cap, size_t *len)
{
    size_t got = fread(buf, 1, cap, f);
    if (ferror(f))
        return -1;
    *len = got;
    return 0;
}

static int replay_file(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rbe");
    size_t len = 0;
    if (f == NULL || read_all(f, buf, DRIVER_MAX_INPUT, &len) != 0) {
        fprintf(stderr, "driver: cannot read %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    run_exact(buf, len);
    return 1;
}

static int not_hidden(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Returns the number of inputs replayed, or -1. Sorted, so a failing run
 * names the same input every time. */
static int replay_dir(const char *dir, uint8_t *buf)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, not_hidden, alphasort);
    if (n < 0) {
        fprintf(stderr, "driver: cannot list %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int done = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && done >= 0)
            done = replay_file(path, buf) < 0 ? -1 : done + 1;
        free(names[i]);
    }
    free(names);
    return done;
}

static int replay(int argc, char **argv)
{
    uint8_t *buf = malloc(DRIVER_MAX_INPUT);
    int total = 0;
    for (int i = 1; i < argc && buf != NULL; i++) {
        struct stat st;
        int n = -1;
        if (stat(argv[i], &st) != 0)
            fprintf(stderr, "driver: %s: %s\n", argv[i], strerror(errno));
        else
            n = S_ISDIR(st.st_mode) ? replay_dir(argv[i], buf)
                                    : replay_file(argv[i], buf);
        if (n < 0) {
            free(buf);
            return 1;
        }
        total += n;
    }
    free(buf);
    fprintf(stderr, "driver: replayed %d input(s)\n", total);
    /* An empty corpus proves nothing: make it fail loudly. */
    return total > 0 ? 0 : 1;
}

#ifdef __AFL_COMPILER
/* AFL++'s macros use GNU statement expressions and narrow read()'s result;
 * that is theirs to choose, so it is not warned about here. */
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#pragma clang diagnostic ignored "-Wshorten-64-to-32"
__AFL_FUZZ_INIT()

/* The fork server starts first, so each fuzzing child isolates itself:
 * anything a crashed child leaves dies with its own IPC namespace. */
static int afl_persistent(int *argc, char ***argv)
{
    __AFL_INIT();
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(argc, argv);
    const uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(10000)) {
        size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
        run_exact(buf, len);
    }
    return 0;
}
#endif

static int one_from_stdin(void)
{
    uint8_t *buf = malloc(DRIVER_MAX_INPUT);
    size_t len = 0;
    if (buf == NULL || read_all(stdin, buf, DRIVER_MAX_INPUT, &len) != 0) {
        free(buf);
        return 1;
    }
    run_exact(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
#ifdef __AFL_COMPILER
    if (argc < 2)
        return afl_persistent(&argc, &argv);
#endif
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    return argc < 2 ? one_from_stdin() : replay(argc, argv);
}
