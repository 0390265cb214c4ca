/* SPDX-License-Identifier: MIT */
/* Evil tests for the segment header: foreign, corrupt, truncated, other
 * versions and other ABIs are each reported with their own code, both by
 * the pure checker and on open and attach. */
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/error.h"
#include "hipc/shm.h"
#include "proc.h"
#include "support.h"

#define TAG 0xc0ffee01u

/* A hipc segment, plus a raw read-write view of it for tampering. */
struct victim {
    hipc_shm shm;
    hipc_shm raw;
    unsigned char *bytes;
};

static void victim_make(struct victim *v, size_t size)
{
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = size;
    cfg.tag = TAG;
    assert_int_equal(hipc_shm_create(&v->shm, HIPC_SHM_KEY_PRIVATE, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_shm_open_id(&v->raw, v->shm.id, 0, HIPC_SHM_RAW),
                     HIPC_OK);
    v->bytes = v->raw.data;
}

static void victim_drop(struct victim *v)
{
    assert_int_equal(hipc_shm_close(&v->raw), HIPC_OK);
    assert_int_equal(hipc_shm_remove(&v->shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&v->shm), HIPC_OK);
}

static int open_it(const struct victim *v)
{
    hipc_shm h;
    int rc = hipc_shm_open_id(&h, v->shm.id, 0, 0);
    if (rc == HIPC_OK)
        assert_int_equal(hipc_shm_close(&h), HIPC_OK);
    return rc;
}

static void header_decodes_what_the_creator_wrote(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    hipc_shm_header_info info;
    assert_int_equal(hipc_shm_header_check(v.bytes, HIPC_SHM_HEADER_SIZE,
                                           v.shm.seg_size, &info),
                     HIPC_OK);
    uint64_t start = 0;
    assert_int_equal(hipc__proc_start_time(getpid(), &start, NULL), HIPC_OK);
    assert_int_equal(info.version, HIPC_SHM_LAYOUT_VERSION);
    assert_int_equal(info.tag, TAG);
    assert_int_equal(info.requested, 100);
    assert_int_equal(info.payload_offset, HIPC_SHM_HEADER_SIZE);
    assert_int_equal(info.creator_pid, getpid());
    assert_int_equal(info.creator_start, start);
    assert_int_equal(hipc_shm_header_check(v.bytes, HIPC_SHM_HEADER_SIZE,
                                           v.shm.seg_size, NULL),
                     HIPC_OK);
    victim_drop(&v);
}

/* A pure check of a copy at an odd address, as a fuzzer would pass it. */
static void header_check_is_pure_and_alignment_free(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 8);
    unsigned char buf[HIPC_SHM_HEADER_SIZE + 1];
    memcpy(buf + 1, v.bytes, HIPC_SHM_HEADER_SIZE);
    size_t seg = v.shm.seg_size;
    victim_drop(&v);
    assert_int_equal(hipc_shm_header_check(buf + 1, sizeof buf - 1, seg, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_shm_header_check(buf + 1, 3, seg, NULL),
                     HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_header_check(buf + 1, 4, seg, NULL),
                     HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_header_check(buf + 1, 63, seg, NULL),
                     HIPC_E_CORRUPT);
    /* A segment too small for the payload the header claims. */
    assert_int_equal(hipc_shm_header_check(buf + 1, 64, seg - 1, NULL),
                     HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_header_check(buf + 1, 64, 3, NULL),
                     HIPC_E_FOREIGN);
    memset(buf, 0, sizeof buf);
    assert_int_equal(hipc_shm_header_check(buf, 64, 64, NULL), HIPC_E_AGAIN);
}

/* The checksum and the magic leave no byte of the header unguarded. */
static void every_flipped_header_bit_is_detected(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 8);
    unsigned char good[HIPC_SHM_HEADER_SIZE];
    memcpy(good, v.bytes, sizeof good);
    size_t seg = v.shm.seg_size;
    victim_drop(&v);
    for (size_t i = 0; i < sizeof good; i++) {
        for (int bit = 0; bit < 8; bit++) {
            unsigned char bad[HIPC_SHM_HEADER_SIZE];
            memcpy(bad, good, sizeof bad);
            bad[i] ^= (unsigned char)(1u << bit);
            int rc = hipc_shm_header_check(bad, sizeof bad, seg, NULL);
            assert_true(rc == HIPC_E_CORRUPT || rc == HIPC_E_FOREIGN ||
                        rc == HIPC_E_VERSION || rc == HIPC_E_LAYOUT);
        }
    }
}

/* The checksum as the layout defines it: FNV-1a over bytes 4..59. */
static void reseal(unsigned char *h)
{
    uint32_t sum = 2166136261u;
    for (size_t i = 4; i < 60; i++) {
        sum ^= h[i];
        sum *= 16777619u;
    }
    memcpy(h + 60, &sum, sizeof sum);
}

/* A forger who gets the checksum right still cannot pass bad fields. */
static void well_sealed_but_inconsistent_headers_are_corrupt(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    unsigned char good[HIPC_SHM_HEADER_SIZE];
    memcpy(good, v.bytes, sizeof good);
    size_t seg = v.shm.seg_size;
    victim_drop(&v);
    static const struct {
        size_t at;
        uint64_t value;
        size_t width;
    } bad[] = {
        {16, 0, 8},           /* requested 0 */
        {16, 101, 8},         /* requested beyond the segment */
        {16, UINT64_MAX, 8},  /* requested absurd */
        {24, 0, 8},           /* payload inside the header */
        {24, 4096, 8},        /* payload elsewhere */
        {40, 0, 4},           /* creator pid 0 */
        {40, 0x80000000u, 4}, /* creator pid negative */
        {44, 1, 4},           /* reserved words */
        {48, 1, 8},           {56, 1, 4},
    };
    assert_int_equal(hipc_shm_header_check(good, sizeof good, seg, NULL),
                     HIPC_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char h[HIPC_SHM_HEADER_SIZE];
        memcpy(h, good, sizeof h);
        if (bad[i].width == 8)
            memcpy(h + bad[i].at, &bad[i].value, 8);
        else {
            uint32_t w = (uint32_t)bad[i].value;
            memcpy(h + bad[i].at, &w, 4);
        }
        reseal(h);
        assert_int_equal(hipc_shm_header_check(h, sizeof h, seg, NULL),
                         HIPC_E_CORRUPT);
    }
    /* Resealing alone changes nothing. */
    reseal(good);
    assert_int_equal(hipc_shm_header_check(good, sizeof good, seg, NULL),
                     HIPC_OK);
}

static void a_corrupt_header_is_corrupt_on_open(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    v.bytes[16] ^= 0x01; /* the requested size */
    assert_int_equal(open_it(&v), HIPC_E_CORRUPT);
    v.bytes[16] ^= 0x01;
    assert_int_equal(open_it(&v), HIPC_OK);
    v.bytes[63] ^= 0x80; /* the checksum */
    assert_int_equal(open_it(&v), HIPC_E_CORRUPT);
    victim_drop(&v);
}

static void another_layout_version_is_version(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    uint32_t version = HIPC_SHM_LAYOUT_VERSION + 1;
    memcpy(v.bytes + 4, &version, sizeof version);
    assert_int_equal(open_it(&v), HIPC_E_VERSION);
    victim_drop(&v);
}

static void another_abi_is_layout(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    unsigned char fp[4];
    memcpy(fp, v.bytes + 8, sizeof fp);
    v.bytes[8] ^= 0x04; /* as if another pointer width or header size */
    assert_int_equal(open_it(&v), HIPC_E_LAYOUT);
    memcpy(v.bytes + 8, fp, sizeof fp);
    /* The magic as the other endianness would have stored it. */
    unsigned char magic[4];
    memcpy(magic, v.bytes, 4);
    for (int i = 0; i < 4; i++)
        v.bytes[i] = magic[3 - i];
    assert_int_equal(open_it(&v), HIPC_E_LAYOUT);
    memcpy(v.bytes, magic, 4);
    assert_int_equal(open_it(&v), HIPC_OK);
    victim_drop(&v);
}

/* A zero magic while someone is attached may be a creator mid-write; with
 * nobody attached it cannot be. */
static void an_unwritten_header_is_again_then_foreign(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    memset(v.bytes, 0, 4);
    assert_int_equal(open_it(&v), HIPC_E_AGAIN);
    int id = v.shm.id;
    assert_int_equal(hipc_shm_close(&v.raw), HIPC_OK);
    assert_int_equal(hipc_shm_detach(&v.shm), HIPC_OK);
    hipc_shm h;
    assert_int_equal(hipc_shm_open_id(&h, id, 0, HIPC_SHM_NO_ATTACH),
                     HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_remove(&v.shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&v.shm), HIPC_OK);
}

static void attach_verifies_the_header_again(void **state)
{
    (void)state;
    struct victim v;
    victim_make(&v, 100);
    assert_int_equal(hipc_shm_detach(&v.shm), HIPC_OK);
    v.bytes[20] ^= 0xff;
    assert_int_equal(hipc_shm_attach(&v.shm, 0), HIPC_E_CORRUPT);
    assert_null(v.shm.data);
    hipc_shm_info info;
    assert_int_equal(hipc_shm_stat(&v.shm, &info), HIPC_OK);
    assert_int_equal(info.nattch, 1); /* only the raw view */
    v.bytes[20] ^= 0xff;
    assert_int_equal(hipc_shm_attach(&v.shm, 0), HIPC_OK);
    assert_non_null(v.shm.data);
    victim_drop(&v);
}

static void plain_segments_are_foreign_or_truncated(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the test's own shmget, shmat or shmctl (they reach the real kernel)");
    int tiny = shmget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    int shortseg = shmget(IPC_PRIVATE, 10, IPC_CREAT | 0600);
    assert_true(tiny >= 0 && shortseg >= 0);
    unsigned char *p = shmat(shortseg, NULL, 0);
    assert_true(p != (void *)-1);
    memcpy(p, "HIPC", 4);
    hipc_shm h;
    assert_int_equal(hipc_shm_open_id(&h, tiny, 0, 0), HIPC_E_FOREIGN);
    assert_int_equal(hipc_shm_open_id(&h, shortseg, 0, 0), HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_open_id(&h, shortseg, 0, HIPC_SHM_NO_ATTACH),
                     HIPC_E_CORRUPT);
    assert_int_equal(hipc_shm_open_id(&h, shortseg, 11, HIPC_SHM_RAW),
                     HIPC_E_SIZE_MISMATCH);
    assert_int_equal(hipc_shm_open_id(&h, shortseg, 10, HIPC_SHM_RAW), HIPC_OK);
    assert_memory_equal(h.data, "HIPC", 4);
    assert_int_equal(hipc_shm_close(&h), HIPC_OK);
    assert_int_equal(shmdt(p), 0);
    assert_int_equal(hipc_shm_remove_id(tiny, NULL), HIPC_OK);
    assert_int_equal(hipc_shm_remove_id(shortseg, NULL), HIPC_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(header_decodes_what_the_creator_wrote),
    cmocka_unit_test(header_check_is_pure_and_alignment_free),
    cmocka_unit_test(every_flipped_header_bit_is_detected),
    cmocka_unit_test(well_sealed_but_inconsistent_headers_are_corrupt),
    cmocka_unit_test(a_corrupt_header_is_corrupt_on_open),
    cmocka_unit_test(another_layout_version_is_version),
    cmocka_unit_test(another_abi_is_layout),
    cmocka_unit_test(an_unwritten_header_is_again_then_foreign),
    cmocka_unit_test(attach_verifies_the_header_again),
    cmocka_unit_test(plain_segments_are_foreign_or_truncated),
};

HIPC_TEST_MAIN(tests)
