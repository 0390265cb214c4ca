/* SPDX-License-Identifier: MIT */
/* The channel's defaults: a zeroed or NULL config makes a working channel
 * (HIPC_CHAN_CAPACITY_DEFAULT), and an end that opens a channel has the
 * ring's pages present from the start, unless it asks for HIPC_CHAN_LAZY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/shm.h"
#include "support.h"

#define KEY ((hipc_key)0x48430101)

/* The largest message and an empty one go through, byte for byte. */
static void carries_messages(hipc_chan *p, hipc_chan *c)
{
    static unsigned char out[HIPC_CHAN_CAPACITY_DEFAULT],
        in[HIPC_CHAN_CAPACITY_DEFAULT];
    size_t max = HIPC_CHAN_CAPACITY_DEFAULT - 8u;
    hipc_test_fill(out, max, 5);
    assert_int_equal(hipc_chan_send(p, out, max, 0), HIPC_OK);
    assert_int_equal(hipc_chan_send(p, out, max + 1, 0), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_chan_recv(c, in, sizeof in, 0), (int)max);
    assert_memory_equal(in, out, max);
    assert_int_equal(hipc_chan_send(p, NULL, 0, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(c, in, sizeof in, 0), 0);
}

static void expect_defaults(const hipc_chan *ch)
{
    assert_int_equal(ch->capacity, HIPC_CHAN_CAPACITY_DEFAULT);
    assert_int_equal(ch->max_msg, HIPC_CHAN_CAPACITY_DEFAULT - 8u);
    assert_int_equal(ch->spin_ns, HIPC_CHAN_SPIN_DEFAULT);
}

/* Creates with `cfg` (NULL or zeroed), opens with the same, exchanges. */
static void default_channel(const hipc_chan_config *cfg)
{
    int before = hipc_test_shm_count();
    hipc_chan p, c;
    hipc_shm_info info;
    assert_int_equal(hipc_chan_create(&p, KEY, HIPC_CHAN_PRODUCER, cfg),
                     HIPC_OK);
    expect_defaults(&p);
    assert_int_equal(hipc_shm_stat(&p.shm, &info), HIPC_OK);
    assert_int_equal(info.mode, 0600);
    assert_int_equal(hipc_chan_open(&c, KEY, HIPC_CHAN_CONSUMER, cfg), HIPC_OK);
    expect_defaults(&c);
    carries_messages(&p, &c);
    assert_int_equal(hipc_chan_remove(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), before);
}

static void a_null_config_makes_a_working_channel(void **state)
{
    (void)state;
    default_channel(NULL);
}

static void a_zeroed_config_makes_the_same_channel(void **state)
{
    (void)state;
    hipc_chan_config zero;
    memset(&zero, 0, sizeof zero);
    default_channel(&zero);
}

/* Memory the caller provides takes the same defaults. */
static void init_mem_takes_the_defaults_too(void **state)
{
    (void)state;
    hipc_chan_config zero, anon = {.flags = HIPC_CHAN_ANONYMOUS};
    memset(&zero, 0, sizeof zero);
    size_t size = 0;
    assert_int_equal(hipc_chan_mem_size(0, &size), HIPC_OK);
    void *mem = aligned_alloc(64, size);
    assert_non_null(mem);
    for (int i = 0; i < 2; i++) {
        hipc_chan p, c;
        assert_int_equal(hipc_chan_init_mem(mem, size, i ? &zero : NULL),
                         HIPC_OK);
        assert_int_equal(hipc_chan_init_mem(mem, size - 1, i ? &zero : NULL),
                         HIPC_E_BAD_SIZE);
        assert_int_equal(hipc_chan_attach_mem(&p, mem, size, HIPC_CHAN_PRODUCER,
                                              &anon),
                         HIPC_OK);
        assert_int_equal(hipc_chan_attach_mem(&c, mem, size, HIPC_CHAN_CONSUMER,
                                              NULL),
                         HIPC_OK);
        expect_defaults(&p);
        carries_messages(&p, &c);
        assert_int_equal(hipc_chan_close(&c), HIPC_OK);
        assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    }
    free(mem);
}

static void unknown_flags_are_refused_everywhere(void **state)
{
    (void)state;
    hipc_chan ch;
    hipc_chan_config bad = {.flags = 0x04u};
    assert_int_equal(hipc_chan_create(&ch, KEY, HIPC_CHAN_PRODUCER, &bad),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_PRODUCER, &bad),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_test_shm_count(), 0);
}

/* ---- pages ------------------------------------------------------------- */

#define RING ((size_t)4 << 20)
#define MSG 4096u

/* Page faults this thread has taken so far. */
static long faults_so_far(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
    return ru.ru_minflt + ru.ru_majflt;
}

/* The faults a consumer that opened a fresh 4 MiB ring with `flags` takes
 * in its first lap over it, 4 KiB messages from a producer in this
 * process (the creator, whose pages create made present). One message
 * first, so that the library's code is paged in before counting. */
static long first_lap_faults(unsigned flags)
{
    static unsigned char out[MSG], in[MSG];
    hipc_chan_config pc = {.capacity = RING}, cc = {.flags = flags};
    hipc_chan p, c;
    hipc_test_fill(out, sizeof out, 9);
    memset(in, 0, sizeof in);
    assert_int_equal(hipc_chan_create(&p, HIPC_SHM_KEY_PRIVATE,
                                      HIPC_CHAN_PRODUCER, &pc),
                     HIPC_OK);
    assert_int_equal(hipc_chan_open_id(&c, p.shm.id, HIPC_CHAN_CONSUMER, &cc),
                     HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, out, 8, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), 8);
    long before = faults_so_far();
    for (size_t i = 0; i < RING / (MSG + 8u); i++) {
        assert_int_equal(hipc_chan_send(&p, out, sizeof out, 0), HIPC_OK);
        assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), (int)MSG);
    }
    long faults = faults_so_far() - before;
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(hipc_chan_remove(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    return faults;
}

/* Whether the kernel may map shared memory with huge pages, which makes a
 * lazy lap take a handful of faults instead of one per few pages. */
static int shmem_may_be_huge(void)
{
    char buf[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, "[never]") == NULL && strstr(buf, "[deny]") == NULL;
}

static void an_opened_ring_is_present_before_its_first_lap(void **state)
{
    (void)state;
    hipc_test_needs_kernel("page faults on a kernel segment's first touch");
    /* 1024 pages of 4 KiB: an opener that maps them lazily takes a fault
     * per page (System V segments have no fault-around), one that opened them
     * present none. The bounds leave room for what the test's own build
     * adds per lap either way (AddressSanitizer's shadow of the ring: one
     * page in 8). */
    /* qemu-user ignores MADV_POPULATE_WRITE and says 0. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip("under an emulator that ignores MADV_POPULATE_WRITE");
    const long pages = (long)RING / sysconf(_SC_PAGESIZE);
    long present = first_lap_faults(0);
    print_message("first lap: %ld faults present\n", present);
    assert_true(present <= pages / 4);
    long lazy = first_lap_faults(HIPC_CHAN_LAZY);
    print_message("first lap: %ld faults with HIPC_CHAN_LAZY\n", lazy);
    if (shmem_may_be_huge())
        hipc_test_skip("shared memory may use huge pages here, so a lazy "
                       "lap need not take many faults");
    assert_true(lazy - present >= pages / 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_null_config_makes_a_working_channel),
    cmocka_unit_test(a_zeroed_config_makes_the_same_channel),
    cmocka_unit_test(init_mem_takes_the_defaults_too),
    cmocka_unit_test(unknown_flags_are_refused_everywhere),
    cmocka_unit_test(an_opened_ring_is_present_before_its_first_lap),
};
HIPC_TEST_MAIN(tests)
