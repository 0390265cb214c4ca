/* SPDX-License-Identifier: MIT */
/* Tests for inspection: the /proc/sysvipc/shm parser on good, hostile and
 * truncated input; listing, classification, orphans and removal live. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hipc/hipc.h"
#include "inspect_priv.h"
#include "proc.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "lists segments through /proc/sysvipc, the kernel's list, not the world's")

#ifdef HIPC_FAULT_INJECTION
#include "fault.h"
#endif

/* The header and three lines exactly as this machine's kernel printed them
 * (64-bit, Linux 6.x): a fixed key, a negative key locked in memory, and a
 * private segment marked for removal while attached. */
#define HEADER16                                                                 \
    "       key      shmid perms                  size  cpid  lpid nattch   uid" \
    "   gid  cuid  cgid      atime      dtime      ctime                   rss " \
    "                 swap\n"
#define LINE_A                                                                  \
    "2147483647          0   640                  4096  6349     0      0     " \
    "0     0     0     0          0          0 1795563889                     " \
    "0                     0\n"
#define LINE_B                                                                  \
    "        -5          1  2777                   100  6349     0      0     " \
    "0     0     0     0          0          0 1795563889                     " \
    "0                     0\n"
#define LINE_C                                                                  \
    "         0          2  1600               1048576  6349  6349      1  100" \
    "0  1001  1002  1003 1795563890          0 1795563889                  409" \
    "6                  8192\n"
#define TABLE16 HEADER16 LINE_A LINE_B LINE_C

/* Kernels before 4.1 print no rss and swap columns. */
#define HEADER14                                                                \
    "       key      shmid perms       size  cpid  lpid nattch   uid   gid  cu" \
    "id  cgid      atime      dtime      ctime\n"
#define LINE14                                                                  \
    "      4660     131072   666    1048576  2720  2720      1     0     0    " \
    " 0     0 1304962654          0 1304962654\n"

/* A valid 16-field line to mutate: every field is 1 except where noted. */
static const char *const good16 = "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14";

static int line(const char *s, hipc_seg_entry *e)
{
    return hipc_inspect_parse_line(s, strlen(s), e);
}

static int table(const char *s, hipc_seg_entry *out, size_t cap, size_t *total)
{
    return hipc_inspect_parse(s, strlen(s), out, cap, total);
}

/* ---- parser: good input ------------------------------------------------- */

static void real_table_parses_every_field(void **state)
{
    (void)state;
    hipc_seg_entry e[4];
    size_t total = 0;
    assert_int_equal(table(TABLE16, e, 4, &total), 3);
    assert_int_equal(total, 3);
    assert_int_equal(e[0].key, 0x7fffffff);
    assert_int_equal(e[0].id, 0);
    assert_int_equal(e[0].mode, 0640);
    assert_int_equal(e[0].perms, 0640);
    assert_int_equal(e[0].bytes, 4096);
    assert_int_equal(e[0].cpid, 6349);
    assert_int_equal(e[0].ctime, 1795563889);
    assert_true(e[0].has_rss_swap);
    assert_false(e[0].dest || e[0].locked);
    assert_int_equal(e[0].kind, HIPC_SEG_UNCHECKED);
    assert_int_equal(e[0].orphan, HIPC_ORPHAN_UNKNOWN);

    assert_int_equal(e[1].key, -5);
    assert_int_equal(e[1].mode, 02777);
    assert_int_equal(e[1].perms, 0777);
    assert_true(e[1].locked);
    assert_false(e[1].dest);
    assert_int_equal(e[1].bytes, 100);

    assert_int_equal(e[2].key, 0);
    assert_int_equal(e[2].perms, 0600);
    assert_true(e[2].dest);
    assert_int_equal(e[2].nattch, 1);
    assert_int_equal(e[2].lpid, 6349);
    assert_int_equal(e[2].uid, 1000);
    assert_int_equal(e[2].gid, 1001);
    assert_int_equal(e[2].cuid, 1002);
    assert_int_equal(e[2].cgid, 1003);
    assert_int_equal(e[2].atime, 1795563890);
    assert_int_equal(e[2].rss, 4096);
    assert_int_equal(e[2].swap, 8192);
}

static void old_kernel_table_without_rss_and_swap_parses(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t total = 0;
    assert_int_equal(table(HEADER14 LINE14, &e, 1, &total), 1);
    assert_int_equal(e.key, 4660);
    assert_int_equal(e.id, 131072);
    assert_int_equal(e.perms, 0666);
    assert_false(e.has_rss_swap);
    assert_int_equal(e.rss, 0);
}

static void empty_table_has_no_entries(void **state)
{
    (void)state;
    size_t total = 99;
    assert_int_equal(table(HEADER16, NULL, 0, &total), 0);
    assert_int_equal(total, 0);
}

static void extreme_but_valid_values_are_accepted(void **state)
{
    (void)state;
    hipc_seg_entry e;
    assert_int_equal(line("-2147483648 2147483647 3777 18446744073709551615 "
                          "4194304 0 18446744073709551615 4294967294 "
                          "4294967294 0 0 9223372036854775807 0 0 "
                          "18446744073709551615 0",
                          &e),
                     HIPC_OK);
    assert_int_equal(e.key, INT32_MIN);
    assert_int_equal(e.id, INT32_MAX);
    assert_int_equal(e.mode, 03777);
    assert_true(e.dest && e.locked);
    assert_int_equal(e.cpid, 4194304);
    assert_int_equal(e.uid, 4294967294u);
    assert_true(e.atime == INT64_MAX);
    assert_true(e.rss == UINT64_MAX);
    assert_int_equal(line(good16, &e), HIPC_OK);
}

static void small_array_is_filled_and_the_total_still_counted(void **state)
{
    (void)state;
    hipc_seg_entry e[2];
    size_t total = 0;
    memset(e, 0x5a, sizeof e);
    assert_int_equal(table(TABLE16, e, 1, &total), 1);
    assert_int_equal(total, 3);
    assert_int_equal(e[0].key, 0x7fffffff);
    /* Nothing is written past the caller's capacity. */
    assert_int_equal(((unsigned char *)&e[1])[0], 0x5a);
    assert_int_equal(table(TABLE16, NULL, 0, &total), 0);
    assert_int_equal(total, 3);
}

/* ---- parser: hostile input ------------------------------------------------ */

static void hostile_lines_are_corrupt(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "1 2 600 4096 3 4 5 6 7 8 9 10 11",             /* 13 fields */
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13",       /* 15 fields */
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14 15", /* 17 fields */
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 1x",    /* garbage */
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13\t14",   /* tab */
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14\r",  /* CR */
        "+1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",   /* plus sign */
        "1 -2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",   /* negative id */
        "- 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",    /* lone minus */
        "--1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",
        "2147483648 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",
        "-2147483649 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",
        "1 2147483648 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",
        "1 2 680 4096 3 4 5 6 7 8 9 10 11 12 13 14",  /* not octal */
        "1 2 4000 4096 3 4 5 6 7 8 9 10 11 12 13 14", /* unknown mode bit */
        "1 2 600 0 3 4 5 6 7 8 9 10 11 12 13 14",     /* empty segment */
        "1 2 600 18446744073709551616 3 4 5 6 7 8 9 10 11 12 13 14",
        "1 2 600 4096 4194305 4 5 6 7 8 9 10 11 12 13 14", /* pid limit */
        "1 2 600 4096 3 4194305 5 6 7 8 9 10 11 12 13 14",
        "1 2 600 4096 3 4 5 4294967295 7 8 9 10 11 12 13 14", /* (uid_t)-1 */
        "1 2 600 4096 3 4 5 6 7 8 4294967295 10 11 12 13 14",
        "1 2 600 4096 3 4 5 6 7 8 9 9223372036854775808 11 12 13 14",
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 99999999999999999999999",
        "1 2 600 4096 3 4 5 6 7 8 9 10 11 -12 13 14",
        "0x1 2 600 4096 3 4 5 6 7 8 9 10 11 12 13 14",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hipc_seg_entry e;
        if (line(bad[i], &e) != HIPC_E_CORRUPT)
            fail_msg("accepted: \"%s\"", bad[i]);
    }
}

static void nul_byte_inside_a_line_is_corrupt(void **state)
{
    (void)state;
    char buf[64];
    size_t n = strlen(good16);
    memcpy(buf, good16, n);
    buf[3] = '\0';
    hipc_seg_entry e;
    assert_int_equal(hipc_inspect_parse_line(buf, n, &e), HIPC_E_CORRUPT);
}

static void unknown_or_reordered_headers_are_corrupt(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime",
        "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime "
        "ctime rss",
        "key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime "
        "ctime rss swap extra",
        "shmid key perms size cpid lpid nattch uid gid cuid cgid atime dtime "
        "ctime",
        "KEY shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime "
        "ctime",
        "keys shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime "
        "ctime",
    };
    unsigned n = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hipc_inspect_parse_header(bad[i], strlen(bad[i]), &n),
                         HIPC_E_CORRUPT);
    size_t total = 0;
    assert_int_equal(table(LINE_A LINE_B, NULL, 0, &total), HIPC_E_CORRUPT);
}

static void line_with_other_column_count_than_header_is_corrupt(void **state)
{
    (void)state;
    size_t total = 0;
    assert_int_equal(table(HEADER14 LINE_A, NULL, 0, &total), HIPC_E_CORRUPT);
    assert_int_equal(table(HEADER16 LINE14, NULL, 0, &total), HIPC_E_CORRUPT);
    assert_int_equal(table(HEADER16 LINE_A "\n", NULL, 0, &total),
                     HIPC_E_CORRUPT);
}

/* A line of `len` bytes: leading spaces, then the good fields. */
static size_t padded_line(char *buf, size_t len)
{
    size_t n = strlen(good16);
    memset(buf, ' ', len - n);
    memcpy(buf + len - n, good16, n);
    return len;
}

static void lines_longer_than_the_limit_are_corrupt(void **state)
{
    (void)state;
    static char buf[HIPC_INSPECT_LINE_MAX + 2 + sizeof HEADER16];
    hipc_seg_entry e;
    assert_int_equal(hipc_inspect_parse_line(
                         buf, padded_line(buf, HIPC_INSPECT_LINE_MAX), &e),
                     HIPC_OK);
    assert_int_equal(hipc_inspect_parse_line(
                         buf, padded_line(buf, HIPC_INSPECT_LINE_MAX + 1), &e),
                     HIPC_E_CORRUPT);
    /* The same through the streaming parser, line at the limit and over. */
    size_t h = strlen(HEADER16), total = 0;
    for (size_t extra = 0; extra < 2; extra++) {
        memcpy(buf, HEADER16, h);
        size_t n = padded_line(buf + h, HIPC_INSPECT_LINE_MAX + extra);
        buf[h + n] = '\n';
        int rc = hipc_inspect_parse(buf, h + n + 1, NULL, 0, &total);
        assert_int_equal(rc, extra == 0 ? 0 : HIPC_E_CORRUPT);
    }
    assert_int_equal(hipc_inspect_parse_header(buf, HIPC_INSPECT_LINE_MAX + 1,
                                               &(unsigned){0}),
                     HIPC_E_CORRUPT);
}

/* ---- parser: truncated input ------------------------------------------------ */

static void input_ending_inside_a_line_is_truncated(void **state)
{
    (void)state;
    const char *t = TABLE16;
    size_t len = strlen(t), total = 0;
    /* Every prefix: complete lines parse, anything else is truncated. */
    for (size_t cut = 0; cut <= len; cut++) {
        int rc = hipc_inspect_parse(t, cut, NULL, 0, &total);
        if (cut > 0 && t[cut - 1] == '\n') {
            assert_true(rc >= 0);
        } else if (rc != HIPC_E_TRUNCATED) {
            fail_msg("prefix of %zu bytes gave %s", cut, hipc_err_name(rc));
        }
    }
    assert_int_equal(hipc_inspect_parse("", 0, NULL, 0, &total),
                     HIPC_E_TRUNCATED);
}

static void chunked_feeding_agrees_with_the_whole_buffer(void **state)
{
    (void)state;
    const char *t = TABLE16;
    size_t len = strlen(t);
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        hipc_inspect_parser p;
        hipc_inspect_parser_init(&p);
        for (size_t off = 0; off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            assert_int_equal(hipc_inspect_parser_feed(&p, t + off, n, NULL,
                                                      NULL),
                             HIPC_OK);
        }
        assert_int_equal(hipc_inspect_parser_finish(&p), HIPC_OK);
        assert_int_equal(p.entries, 3);
        assert_int_equal(p.lines, 4);
    }
}

static int stop_at_second(void *ctx, const hipc_seg_entry *e)
{
    int *seen = ctx;
    (*seen)++;
    return e->id == 1 ? 1 : 0;
}

static int fail_always(void *ctx, const hipc_seg_entry *e)
{
    (void)ctx;
    (void)e;
    return HIPC_E_NOMEM;
}

static void callbacks_can_stop_and_a_failed_parser_stays_failed(void **state)
{
    (void)state;
    hipc_inspect_parser p;
    int seen = 0;
    hipc_inspect_parser_init(&p);
    assert_int_equal(hipc_inspect_parser_feed(&p, TABLE16, strlen(TABLE16),
                                              stop_at_second, &seen),
                     1);
    assert_int_equal(seen, 2);
    hipc_inspect_parser_init(&p);
    assert_int_equal(hipc_inspect_parser_feed(&p, TABLE16, strlen(TABLE16),
                                              fail_always, NULL),
                     HIPC_E_NOMEM);
    assert_int_equal(hipc_inspect_parser_feed(&p, "x", 1, NULL, NULL),
                     HIPC_E_NOMEM);
    assert_int_equal(hipc_inspect_parser_finish(&p), HIPC_E_NOMEM);
    hipc_inspect_parser_init(&p);
    assert_int_equal(hipc_inspect_parser_feed(&p, "bad\n", 4, NULL, NULL),
                     HIPC_E_CORRUPT);
    assert_int_equal(hipc_inspect_parser_feed(&p, HEADER16, strlen(HEADER16),
                                              NULL, NULL),
                     HIPC_E_CORRUPT);
}

static void null_arguments_are_rejected(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t total = 0;
    unsigned n = 0;
    hipc_inspect_parser p;
    hipc_inspect_parser_init(&p);
    assert_int_equal(hipc_inspect_parse_line(NULL, 0, &e), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse_line("1", 1, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse_header(NULL, 0, &n), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse_header("key", 3, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse(NULL, 0, &e, 1, &total), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse(TABLE16, 1, NULL, 1, &total),
                     HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parse(TABLE16, 1, &e, 1, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parser_feed(NULL, "x", 1, NULL, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parser_feed(&p, NULL, 1, NULL, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_inspect_parser_feed(&p, NULL, 0, NULL, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_inspect_parser_finish(NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_list(NULL, 1, &total, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_list(&e, 1, NULL, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_find_id(0, NULL, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_gc(NULL, 1, &total, 0, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_inspect_gc(&e, 1, NULL, 0, NULL), HIPC_E_NULL);
}

static void unknown_flags_and_bad_ids_are_rejected(void **state)
{
    (void)state;
    hipc_seg_entry e;
    size_t total = 0;
    int err = -1;
    assert_int_equal(hipc_inspect_list(&e, 1, &total, HIPC_INSPECT_DRY_RUN,
                                       &err),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(err, 0);
    assert_int_equal(hipc_inspect_list(&e, 1, &total, 0x80, NULL),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_inspect_find_id(0, &e, 0x80, NULL), HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_inspect_gc(&e, 1, &total, 0x80, NULL),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_inspect_find_id(-1, &e, 0, NULL), HIPC_E_BAD_ID);
    assert_int_equal(hipc_shm_remove_id(-1, NULL), HIPC_E_BAD_ID);
    assert_int_equal(hipc_shm_remove_key(HIPC_SHM_KEY_PRIVATE, NULL),
                     HIPC_E_BAD_KEY);
}

/* The verdict on a segment without attachment whose creator is alive but
 * known only by the kernel's cpid: "no", unless the wall clock was stepped
 * forward since (the hostile stage's realtime=+N), when the creator seems
 * to have started after its segment: then "unknown", never "orphan". */
static enum hipc_seg_orphan live_cpid_verdict(void)
{
#ifdef HIPC_FAULT_INJECTION
    if (hipc_fault_realtime_shift() > 0)
        return HIPC_ORPHAN_UNKNOWN;
#endif
    return HIPC_ORPHAN_NO;
}

/* ---- pid reuse -------------------------------------------------------------- */

#define SEC 1000000000LL

static void process_started_after_the_segment_is_not_its_creator(void **state)
{
    (void)state;
    /* Booted at epoch 1000000, 100 ticks a second. */
    const int64_t boot = 5000 * SEC, real = 1005000 * SEC;
    /* Started at 1004000; segment made at 1003000: not its creator. */
    assert_int_equal(hipc__inspect_started_after(400000, 100, real, boot,
                                                 1003000),
                     1);
    /* Started before the segment existed: may be its creator. */
    assert_int_equal(hipc__inspect_started_after(200000, 100, real, boot,
                                                 1003000),
                     0);
    /* ctime is truncated: a start within the second after it, or just one
     * tick past it, proves nothing; two ticks past ctime + 1 s does. */
    assert_int_equal(hipc__inspect_started_after(300000 + 99, 100, real, boot,
                                                 1003000),
                     0);
    assert_int_equal(hipc__inspect_started_after(300000 + 100, 100, real, boot,
                                                 1003000),
                     0);
    assert_int_equal(hipc__inspect_started_after(300000 + 101, 100, real, boot,
                                                 1003000),
                     1);
    /* Nonsense readings never condemn a segment. */
    assert_int_equal(hipc__inspect_started_after(UINT64_MAX, 100, real, boot,
                                                 0),
                     0);
    assert_int_equal(hipc__inspect_started_after(400000, 0, real, boot, 0), 0);
    assert_int_equal(hipc__inspect_started_after(400000, 100, boot - 1, boot,
                                                 0),
                     0);
    assert_int_equal(hipc__inspect_started_after(400000, 100, real, boot, -1),
                     0);
    assert_int_equal(hipc__inspect_started_after(400000, 100, real, boot,
                                                 INT64_MAX),
                     0);
}

/* The same rule with this machine's real clocks and our own start time. */
static void own_start_time_compares_correctly_with_real_clocks(void **state)
{
    (void)state;
    uint64_t start = 0;
    char st = 0;
    struct timespec real, boot;
    assert_int_equal(hipc__proc_stat_seen(getpid(), &st, &start, NULL),
                     HIPC_OK);
    assert_int_equal(clock_gettime(CLOCK_BOOTTIME, &boot), 0);
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &real), 0);
    long tck = sysconf(_SC_CLK_TCK);
    int64_t real_ns = real.tv_sec * SEC + real.tv_nsec;
    int64_t boot_ns = boot.tv_sec * SEC + boot.tv_nsec;
    /* We started (well) after an hour-old segment, and before a new one. */
    assert_int_equal(hipc__inspect_started_after(start, tck, real_ns, boot_ns,
                                                 real.tv_sec - 3600),
                     1);
    assert_int_equal(hipc__inspect_started_after(start, tck, real_ns, boot_ns,
                                                 real.tv_sec),
                     0);
}

/* ---- the live table ----------------------------------------------------------- */

static int find(int id, hipc_seg_entry *e, unsigned flags)
{
    return hipc_inspect_find_id(id, e, flags, NULL);
}

static hipc_shm_config cfg_of(size_t size, uint32_t tag)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.tag = tag;
    return cfg;
}

static void list_shows_a_hipc_segment_with_its_tag(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(1000, 0xfeedu);
    assert_int_equal(hipc_shm_create(&shm, 0x5151, &cfg), HIPC_OK);
    hipc_seg_entry e[4];
    size_t total = 0;
    assert_int_equal(hipc_inspect_list(e, 4, &total, 0, NULL), 1);
    assert_int_equal(total, 1);
    assert_int_equal(e[0].id, shm.id);
    assert_int_equal(e[0].key, 0x5151);
    assert_int_equal(e[0].bytes, shm.seg_size);
    assert_int_equal(e[0].perms, 0600);
    assert_int_equal(e[0].nattch, 1);
    assert_int_equal(e[0].cpid, getpid());
    assert_int_equal(e[0].uid, getuid());
    assert_int_equal(e[0].kind, HIPC_SEG_HIPC);
    assert_int_equal(e[0].kind_code, HIPC_OK);
    assert_int_equal(e[0].tag, 0xfeedu);
    assert_int_equal(e[0].layout_version, HIPC_SHM_LAYOUT_VERSION);
    assert_int_equal(e[0].creator_pid, getpid());
    assert_int_equal(e[0].orphan, HIPC_ORPHAN_NO);
    /* Detached, its creator alive: still not an orphan. */
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    assert_int_equal(find(shm.id, e, 0), HIPC_OK);
    assert_int_equal(e[0].nattch, 0);
    assert_int_equal(e[0].orphan, HIPC_ORPHAN_NO);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    assert_int_equal(find(shm.id, e, 0), HIPC_E_NOT_FOUND);
}

static void raw_segments_are_foreign(void **state)
{
    (void)state;
    int zero = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    int text = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644);
    assert_true(zero >= 0 && text >= 0);
    char *p = shmat(text, NULL, 0);
    assert_true(p != (void *)-1);
    strcpy(p, "not a hipc header");
    assert_int_equal(shmdt(p), 0);
    hipc_seg_entry e;
    assert_int_equal(find(text, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_FOREIGN);
    assert_int_equal(e.kind_code, HIPC_E_FOREIGN);
    assert_int_equal(e.perms, 0644);
    /* An all-zero segment could be a hipc segment being created. */
    assert_int_equal(find(zero, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_FOREIGN);
    assert_int_equal(e.kind_code, HIPC_E_AGAIN);
    assert_int_equal(e.orphan, live_cpid_verdict());
    assert_int_equal(shmctl(zero, IPC_RMID, NULL), 0);
    assert_int_equal(shmctl(text, IPC_RMID, NULL), 0);
}

static void peeking_attaches_and_no_peek_does_not(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    hipc_seg_entry e;
    assert_int_equal(find(id, &e, HIPC_INSPECT_NO_PEEK), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_UNCHECKED);
    assert_int_equal(e.lpid, 0);
    assert_int_equal(find(id, &e, HIPC_INSPECT_NO_PEEK), HIPC_OK);
    assert_int_equal(e.lpid, 0);
    assert_int_equal(e.atime, 0);
    assert_int_equal(find(id, &e, 0), HIPC_OK);
    assert_int_equal(find(id, &e, HIPC_INSPECT_NO_PEEK), HIPC_OK);
    assert_int_equal(e.lpid, getpid());
    assert_true(e.atime != 0);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

static void list_reports_the_total_when_the_array_is_small(void **state)
{
    (void)state;
    int ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        assert_true(ids[i] >= 0);
    }
    hipc_seg_entry e[2];
    size_t total = 0;
    assert_int_equal(hipc_inspect_list(NULL, 0, &total, 0, NULL), 0);
    assert_int_equal(total, 3);
    assert_int_equal(hipc_inspect_list(e, 2, &total, 0, NULL), 2);
    assert_int_equal(total, 3);
    assert_int_equal(e[0].id, ids[0]);
    assert_int_equal(e[1].id, ids[1]);
    for (int i = 0; i < 3; i++)
        assert_int_equal(shmctl(ids[i], IPC_RMID, NULL), 0);
}

/* A child creates a hipc segment and a raw one, reports their ids and
 * blocks; it is killed while attached to the hipc one. */
static pid_t spawn_creator(int ids[2], int *hold_fd)
{
    int fds[2], hold[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        close(hold[1]);
        hipc_shm shm;
        hipc_shm_config cfg = cfg_of(64, 0x0b0bu);
        int out[2] = {-1, -1};
        if (hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg) == HIPC_OK)
            out[0] = shm.id;
        out[1] = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
        char c;
        if (write(fds[1], out, sizeof out) == (ssize_t)sizeof out)
            (void)read(hold[0], &c, 1); /* blocks until killed */
        _exit(1);
    }
    close(fds[1]);
    close(hold[0]);
    ssize_t n = read(fds[0], ids, 2 * sizeof ids[0]);
    close(fds[0]);
    assert_int_equal(n, 2 * (ssize_t)sizeof ids[0]);
    assert_true(ids[0] >= 0 && ids[1] >= 0);
    /* The hold pipe's write end stays open here: the child blocks. */
    *hold_fd = hold[1];
    return pid;
}

static void orphans_are_found_after_the_creator_is_killed(void **state)
{
    (void)state;
    int ids[2] = {-1, -1};
    int hold = -1;
    pid_t pid = spawn_creator(ids, &hold);
    hipc_seg_entry e;
    /* Alive and attached / alive and never attached: no orphans. */
    assert_int_equal(find(ids[0], &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_HIPC);
    assert_int_equal(e.creator_pid, pid);
    assert_int_equal(e.nattch, 1);
    assert_int_equal(e.orphan, HIPC_ORPHAN_NO);
    assert_int_equal(find(ids[1], &e, 0), HIPC_OK);
    assert_int_equal(e.orphan, live_cpid_verdict());
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 10), 128 + SIGKILL);
    close(hold);
    assert_int_equal(find(ids[0], &e, 0), HIPC_OK);
    assert_int_equal(e.nattch, 0);
    assert_int_equal(e.kind, HIPC_SEG_HIPC);
    assert_int_equal(e.tag, 0x0b0bu);
    assert_int_equal(e.orphan, HIPC_ORPHAN_YES);
    assert_int_equal(find(ids[1], &e, HIPC_INSPECT_NO_PEEK), HIPC_OK);
    assert_int_equal(e.cpid, pid);
    assert_int_equal(e.orphan, HIPC_ORPHAN_YES);

    /* A segment of a live process is not touched by gc. */
    int mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(mine >= 0);
    hipc_seg_entry out[4];
    size_t found = 0;
    assert_int_equal(hipc_inspect_gc(out, 4, &found, HIPC_INSPECT_DRY_RUN,
                                     NULL),
                     2);
    assert_int_equal(found, 2);
    assert_int_equal(find(ids[0], &e, 0), HIPC_OK);
    assert_int_equal(hipc_inspect_gc(out, 1, &found, 0, NULL), 2);
    assert_int_equal(found, 2);
    assert_true(out[0].id == ids[0] || out[0].id == ids[1]);
    assert_int_equal(find(ids[0], &e, 0), HIPC_E_NOT_FOUND);
    assert_int_equal(find(ids[1], &e, 0), HIPC_E_NOT_FOUND);
    assert_int_equal(find(mine, &e, 0), HIPC_OK);
    assert_int_equal(hipc_inspect_gc(out, 4, &found, 0, NULL), 0);
    assert_int_equal(found, 0);
    assert_int_equal(shmctl(mine, IPC_RMID, NULL), 0);
}

/* A hipc header copied into a segment we created names a (dead) creator
 * that is not the kernel's cpid: the kernel's live cpid wins. */
static void header_naming_another_creator_is_judged_by_the_kernel(void **state)
{
    (void)state;
    int ids[2] = {-1, -1};
    int hold = -1;
    pid_t pid = spawn_creator(ids, &hold);
    struct shmid_ds ds;
    assert_int_equal(shmctl(ids[0], IPC_STAT, &ds), 0);
    int copy = shmget(IPC_PRIVATE, ds.shm_segsz, IPC_CREAT | 0600);
    assert_true(copy >= 0);
    void *from = shmat(ids[0], NULL, SHM_RDONLY), *to = shmat(copy, NULL, 0);
    assert_true(from != (void *)-1 && to != (void *)-1);
    memcpy(to, from, HIPC_SHM_HEADER_SIZE);
    assert_int_equal(shmdt(from), 0);
    assert_int_equal(shmdt(to), 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 10), 128 + SIGKILL);
    close(hold);
    hipc_seg_entry e;
    assert_int_equal(find(copy, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_HIPC);
    assert_int_equal(e.creator_pid, pid);
    assert_int_equal(e.cpid, getpid());
    assert_int_equal(e.orphan, live_cpid_verdict());
    assert_int_equal(find(ids[0], &e, 0), HIPC_OK);
    assert_int_equal(e.orphan, HIPC_ORPHAN_YES);
    for (int i = 0; i < 2; i++)
        assert_int_equal(hipc_shm_remove_id(ids[i], NULL), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(copy, NULL), HIPC_OK);
}

/* Run in a new pid namespace: segments made by its parent have a creator
 * this process cannot see (cpid 0), so they are never judged orphans. */
static int judge_from_new_pid_namespace(int raw, int hipc_id)
{
    hipc_seg_entry e[2];
    size_t found = 0;
    for (int i = 0; i < 2; i++)
        if (find(i == 0 ? raw : hipc_id, &e[i], 0) != HIPC_OK)
            return 20 + i;
    if (e[0].cpid != 0 || e[0].orphan != HIPC_ORPHAN_UNKNOWN)
        return 22;
    if (e[1].kind != HIPC_SEG_HIPC || e[1].orphan != HIPC_ORPHAN_UNKNOWN)
        return 23;
    return hipc_inspect_gc(e, 2, &found, 0, NULL) == 0 && found == 0 ? 0 : 24;
}

/* A judge in a pid namespace of its own with a /proc of its own (a
 * container's view): the parent's processes are not in that /proc. */
static int mount_own_proc(void)
{
    return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
                   mount("proc", "/proc", "proc", 0, NULL) == 0
               ? 0
               : -1;
}

/* The judge runs in a new pid namespace: with its parent's /proc
 * (own_proc 0: no pid there can be judged), or with one of its own. */
static void judge_creator_outside(int own_proc)
{
    hipc_shm shm;
    hipc_shm_config cfg = cfg_of(64, 0x5e5eu);
    assert_int_equal(hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_detach(&shm), HIPC_OK);
    int raw = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(raw >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The namespace applies to children: fork once more into it. */
        if (unshare(own_proc ? CLONE_NEWPID | CLONE_NEWNS : CLONE_NEWPID) != 0)
            _exit(77);
        pid_t inner = fork();
        if (inner == 0 && own_proc && mount_own_proc() != 0)
            _exit(77);
        if (inner == 0)
            _exit(judge_from_new_pid_namespace(raw, shm.id));
        _exit(inner < 0 ? 1 : hipc_test_wait_child(inner, 10));
    }
    int rc = hipc_test_wait_child(pid, 20);
    assert_int_equal(shmctl(raw, IPC_RMID, NULL), 0);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    if (rc == 77)
        skip(); /* no right to make a pid namespace here */
    assert_int_equal(rc, 0);
}

static void creator_outside_our_pid_namespace_is_unknown(void **state)
{
    (void)state;
    judge_creator_outside(0);
}

static void creator_outside_a_container_is_unknown(void **state)
{
    (void)state;
    judge_creator_outside(1);
}

static void remove_by_id_and_by_key(void **state)
{
    (void)state;
    int a = shmget(0x7171, 4096, IPC_CREAT | IPC_EXCL | 0600);
    int b = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(a >= 0 && b >= 0);
    int err = -1;
    assert_int_equal(hipc_shm_remove_key(0x7171, &err), HIPC_OK);
    assert_int_equal(err, 0);
    assert_int_equal(shmget(0x7171, 0, 0), -1);
    assert_int_equal(hipc_shm_remove_key(0x7171, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, ENOENT);
    assert_int_equal(hipc_shm_remove_id(b, &err), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(b, &err), HIPC_E_NOT_FOUND);
    assert_int_equal(err, EINVAL);
    hipc_seg_entry e;
    assert_int_equal(find(a, &e, 0), HIPC_E_NOT_FOUND);
    assert_int_equal(find(b, &e, 0), HIPC_E_NOT_FOUND);
}

/* An owner without read or write permission can still remove by key; a
 * stranger cannot remove at all. */
static void remove_respects_ownership_not_access(void **state)
{
    (void)state;
    int theirs = shmget(0x7272, 4096, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(theirs >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (hipc_test_drop_privileges() != 0)
            _exit(10);
        int err = 0;
        if (hipc_shm_remove_id(theirs, &err) != HIPC_E_PERM || err != EPERM)
            _exit(11);
        if (hipc_shm_remove_key(0x7272, &err) != HIPC_E_PERM)
            _exit(12);
        int own = shmget(0x7373, 4096, IPC_CREAT | IPC_EXCL | 0000);
        if (own < 0)
            _exit(13);
        _exit(hipc_shm_remove_key(0x7373, &err) == HIPC_OK ? 0 : 14);
    }
    int rc = hipc_test_wait_child(pid, 10);
    int left = shmget(0x7373, 0, 0);
    if (left >= 0)
        shmctl(left, IPC_RMID, NULL);
    assert_int_equal(shmctl(theirs, IPC_RMID, NULL), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(left, -1);
}

/* Without read permission a segment is listed, only not classified. */
static void unreadable_segment_is_listed_with_the_reason(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_seg_entry e;
        if (hipc_test_drop_privileges() != 0)
            _exit(10);
        if (hipc_inspect_find_id(id, &e, 0, NULL) != HIPC_OK)
            _exit(11);
        /* Under hidepid our root parent is hidden from us: "unknown".
         * With hidepid=noaccess its directory is still listed but its
         * stat file cannot be read, so ask the file, not the directory. */
        char path[48];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)getppid());
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        enum hipc_seg_orphan want =
            fd >= 0 ? live_cpid_verdict() : HIPC_ORPHAN_UNKNOWN;
        if (fd >= 0)
            close(fd);
        /* Under valgrind shmat says EINVAL, not EACCES (support.h). */
        int code_ok =
            e.kind_code == HIPC_E_PERM ||
            (hipc_test_under_valgrind() && e.kind_code == HIPC_E_NOT_FOUND);
        _exit(e.kind == HIPC_SEG_UNREADABLE && code_ok && e.orphan == want
                  ? 0
                  : 12);
    }
    int rc = hipc_test_wait_child(pid, 10);
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
    assert_int_equal(rc, 0);
}

#ifdef HIPC_FAULT_INJECTION

static void table_read_failures_keep_code_and_errno(void **state)
{
    (void)state;
    static const struct {
        enum hipc__sys_call call;
        int err, code;
    } cases[] = {
        {HIPC_SYS_OPEN, ENOENT, HIPC_E_UNSUPPORTED},
        {HIPC_SYS_OPEN, EMFILE, HIPC_E_LIMIT},
        {HIPC_SYS_OPEN, EACCES, HIPC_E_PERM},
        {HIPC_SYS_READ, EIO, HIPC_E_SYS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hipc_seg_entry e;
        size_t total = 0;
        int err = 0;
        hipc_fault_reset();
        hipc_fault_fail_nth(cases[i].call, 1, cases[i].err);
        assert_int_equal(hipc_inspect_list(&e, 1, &total, 0, &err),
                         cases[i].code);
        assert_int_equal(err, cases[i].err);
        hipc_fault_reset();
        hipc_fault_fail_nth(cases[i].call, 1, cases[i].err);
        assert_int_equal(hipc_inspect_find_id(0, &e, 0, &err), cases[i].code);
        assert_int_equal(err, cases[i].err);
    }
    hipc_fault_reset();
}

static void failed_peek_marks_the_segment_unreadable(void **state)
{
    (void)state;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    assert_true(id >= 0);
    hipc_seg_entry e;
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_SHMAT, 1, EACCES);
    assert_int_equal(find(id, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_UNREADABLE);
    assert_int_equal(e.kind_code, HIPC_E_PERM);
    hipc_fault_reset();
    /* Gone between the table and the peek. */
    hipc_fault_fail_nth(HIPC_SYS_SHMCTL, 1, EIDRM);
    assert_int_equal(find(id, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_UNREADABLE);
    assert_int_equal(e.kind_code, HIPC_E_NOT_FOUND);
    /* A header page that cannot be made present is never read. */
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_MADVISE, 1, EFAULT);
    assert_int_equal(find(id, &e, 0), HIPC_OK);
    assert_int_equal(e.kind, HIPC_SEG_UNREADABLE);
    assert_int_equal(e.kind_code, HIPC_E_NOMEM);
    /* Without clocks the reused-pid rule is skipped, nothing else. */
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_CLOCK, 1, EINVAL);
    assert_int_equal(find(id, &e, 0), HIPC_OK);
    assert_int_equal(e.orphan, HIPC_ORPHAN_NO);
    hipc_fault_reset();
    assert_int_equal(shmctl(id, IPC_RMID, NULL), 0);
}

/* gc's third shmctl on the one orphan is IPC_RMID (after the peek's and
 * the re-check's IPC_STAT): its failure is reported, the segment kept. */
static void gc_reports_a_removal_it_was_refused(void **state)
{
    (void)state;
    int ids[2] = {-1, -1};
    int hold = -1;
    pid_t pid = spawn_creator(ids, &hold);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 10), 128 + SIGKILL);
    close(hold);
    assert_int_equal(hipc_shm_remove_id(ids[1], NULL), HIPC_OK);
    hipc_seg_entry out[2];
    size_t found = 0;
    int err = 0;
    hipc_fault_reset();
    hipc_fault_fail_nth(HIPC_SYS_SHMCTL, 3, EPERM);
    assert_int_equal(hipc_inspect_gc(out, 2, &found, 0, &err), HIPC_E_PERM);
    assert_int_equal(err, EPERM);
    assert_int_equal(found, 1);
    hipc_fault_reset();
    hipc_seg_entry e;
    assert_int_equal(find(ids[0], &e, 0), HIPC_OK);
    assert_int_equal(hipc_inspect_gc(out, 2, &found, 0, &err), 1);
    assert_int_equal(find(ids[0], &e, 0), HIPC_E_NOT_FOUND);
}
#endif

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(real_table_parses_every_field),
    cmocka_unit_test(old_kernel_table_without_rss_and_swap_parses),
    cmocka_unit_test(empty_table_has_no_entries),
    cmocka_unit_test(extreme_but_valid_values_are_accepted),
    cmocka_unit_test(small_array_is_filled_and_the_total_still_counted),
    cmocka_unit_test(hostile_lines_are_corrupt),
    cmocka_unit_test(nul_byte_inside_a_line_is_corrupt),
    cmocka_unit_test(unknown_or_reordered_headers_are_corrupt),
    cmocka_unit_test(line_with_other_column_count_than_header_is_corrupt),
    cmocka_unit_test(lines_longer_than_the_limit_are_corrupt),
    cmocka_unit_test(input_ending_inside_a_line_is_truncated),
    cmocka_unit_test(chunked_feeding_agrees_with_the_whole_buffer),
    cmocka_unit_test(callbacks_can_stop_and_a_failed_parser_stays_failed),
    cmocka_unit_test(null_arguments_are_rejected),
    cmocka_unit_test(unknown_flags_and_bad_ids_are_rejected),
    cmocka_unit_test(process_started_after_the_segment_is_not_its_creator),
    cmocka_unit_test(own_start_time_compares_correctly_with_real_clocks),
    cmocka_unit_test(list_shows_a_hipc_segment_with_its_tag),
    cmocka_unit_test(raw_segments_are_foreign),
    cmocka_unit_test(peeking_attaches_and_no_peek_does_not),
    cmocka_unit_test(list_reports_the_total_when_the_array_is_small),
    cmocka_unit_test(orphans_are_found_after_the_creator_is_killed),
    cmocka_unit_test(header_naming_another_creator_is_judged_by_the_kernel),
    cmocka_unit_test(creator_outside_our_pid_namespace_is_unknown),
    cmocka_unit_test(creator_outside_a_container_is_unknown),
    cmocka_unit_test(remove_by_id_and_by_key),
    cmocka_unit_test(remove_respects_ownership_not_access),
    cmocka_unit_test(unreadable_segment_is_listed_with_the_reason),
#ifdef HIPC_FAULT_INJECTION
    cmocka_unit_test(table_read_failures_keep_code_and_errno),
    cmocka_unit_test(failed_peek_marks_the_segment_unreadable),
    cmocka_unit_test(gc_reports_a_removal_it_was_refused),
#endif
};

HIPC_TEST_MAIN(tests)
