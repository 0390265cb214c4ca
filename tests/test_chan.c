/* SPDX-License-Identifier: MIT */
/* Tests for the channel: ring core on raw memory, hostile headers and
 * indices, identities and take-over, and peers in other processes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "hipc/inspect.h"
#include "hipc/shm.h"
#include "support.h"

#define CAP 256u
#define LINE 128u
/* Offsets of the shared fields, as documented in lib/chan.c. */
#define OFF_MAGIC 0u
#define OFF_VERSION 4u
#define OFF_ENDIAN 8u
#define OFF_CAPACITY 16u
#define OFF_MAX_MSG 20u
#define OFF_PROD_OWNER (1u * LINE)
#define OFF_TAIL (2u * LINE)
#define OFF_HEAD (3u * LINE)

struct region {
    unsigned char *mem;
    size_t size;
};

/* Shared anonymous memory, so the same region also works across fork. */
static struct region region_new(size_t cap, size_t max_msg)
{
    struct region r = {NULL, 0};
    assert_int_equal(hipc_chan_mem_size(cap, &r.size), HIPC_OK);
    void *p = mmap(NULL, r.size, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    r.mem = p;
    hipc_chan_config cfg = {.capacity = cap, .max_msg = max_msg};
    assert_int_equal(hipc_chan_init_mem(r.mem, r.size, &cfg), HIPC_OK);
    return r;
}

static void region_free(struct region *r)
{
    munmap(r->mem, r->size);
}

static void put32(struct region *r, size_t off, uint32_t v)
{
    memcpy(r->mem + off, &v, sizeof v);
}

static uint32_t get32(const struct region *r, size_t off)
{
    uint32_t v;
    memcpy(&v, r->mem + off, sizeof v);
    return v;
}

static const hipc_chan_config anon = {.flags = HIPC_CHAN_ANONYMOUS};

/* A producer and a consumer on the same memory, without identities. */
static void pair(struct region *r, hipc_chan *p, hipc_chan *c)
{
    assert_int_equal(hipc_chan_attach_mem(p, r->mem, r->size,
                                          HIPC_CHAN_PRODUCER, &anon),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(c, r->mem, r->size,
                                          HIPC_CHAN_CONSUMER, &anon),
                     HIPC_OK);
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed * 131u + i * 7u + 1u);
}

static void mem_size_accepts_only_powers_of_two_in_bounds(void **state)
{
    (void)state;
    size_t size = 0;
    assert_int_equal(hipc_chan_mem_size(64, &size), HIPC_OK);
    assert_int_equal(size, HIPC_CHAN_HEADER_SIZE + 64u);
    /* 0 is the default capacity, as in a zeroed config. */
    assert_int_equal(hipc_chan_mem_size(0, &size), HIPC_OK);
    assert_int_equal(size, HIPC_CHAN_HEADER_SIZE + HIPC_CHAN_CAPACITY_DEFAULT);
    assert_int_equal(hipc_chan_mem_size(32, &size), HIPC_E_BAD_CAPACITY);
    assert_int_equal(hipc_chan_mem_size(96, &size), HIPC_E_BAD_CAPACITY);
    assert_int_equal(hipc_chan_mem_size((size_t)HIPC_CHAN_MAX_CAPACITY * 2,
                                        &size),
                     HIPC_E_BAD_CAPACITY);
    assert_int_equal(hipc_chan_mem_size(SIZE_MAX, &size), HIPC_E_BAD_CAPACITY);
    assert_int_equal(hipc_chan_mem_size(64, NULL), HIPC_E_NULL);
}

static void init_rejects_bad_arguments_before_writing(void **state)
{
    (void)state;
    _Alignas(8) unsigned char mem[HIPC_CHAN_HEADER_SIZE + 128];
    memset(mem, 0xAB, sizeof mem);
    hipc_chan_config cfg = {.capacity = 128};
    assert_int_equal(hipc_chan_init_mem(NULL, sizeof mem, &cfg), HIPC_E_NULL);
    /* NULL is every default: a 64 KiB ring, more than this memory. */
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, NULL),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_chan_init_mem(mem + 4, sizeof mem - 4, &cfg),
                     HIPC_E_BAD_ADDR);
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem - 1, &cfg),
                     HIPC_E_BAD_SIZE);
    cfg.flags = 0x100;
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, &cfg),
                     HIPC_E_BAD_FLAGS);
    cfg.flags = 0;
    cfg.spin_ns = -5;
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, &cfg),
                     HIPC_E_BAD_TIMEOUT);
    cfg.spin_ns = 0;
    cfg.max_msg = 121;
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, &cfg),
                     HIPC_E_BAD_SIZE);
    cfg.capacity = 100;
    cfg.max_msg = 0;
    assert_int_equal(hipc_chan_init_mem(mem, sizeof mem, &cfg),
                     HIPC_E_BAD_CAPACITY);
    for (size_t i = 0; i < sizeof mem; i++)
        assert_int_equal(mem[i], 0xAB);
}

static void attach_rejects_bad_arguments(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan ch;
    assert_int_equal(hipc_chan_attach_mem(NULL, r.mem, r.size, 1, &anon),
                     HIPC_E_NULL);
    assert_int_equal(hipc_chan_attach_mem(&ch, NULL, r.size, 1, &anon),
                     HIPC_E_NULL);
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, r.size, (hipc_chan_role)3,
                                          &anon),
                     HIPC_E_BAD_ROLE);
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, r.size, (hipc_chan_role)0,
                                          &anon),
                     HIPC_E_BAD_ROLE);
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, 100, 1, &anon),
                     HIPC_E_BAD_SIZE);
    /* The header promises a ring that the memory is too small to hold. */
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, r.size - 8, 1, &anon),
                     HIPC_E_CORRUPT);
    hipc_chan_config bad = {.flags = 0x80};
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, r.size, 1, &bad),
                     HIPC_E_BAD_FLAGS);
    region_free(&r);
}

/* Sends and receives one message of `len` bytes, byte for byte. */
static void round_trip(hipc_chan *p, hipc_chan *c, size_t len, unsigned seed)
{
    unsigned char out[CAP], in[CAP];
    fill(out, len, seed);
    memset(in, 0, sizeof in);
    int rc = hipc_chan_send(p, out, len, 0);
    if (rc == HIPC_E_AGAIN) {
        /* Too long for the space before the end: the producer padded the
         * rest, and only the consumer can free it by skipping the pad. */
        assert_int_equal(hipc_chan_recv(c, in, sizeof in, 0), HIPC_E_AGAIN);
        rc = hipc_chan_send(p, out, len, 0);
    }
    assert_int_equal(rc, HIPC_OK);
    assert_int_equal(hipc_chan_recv(c, in, sizeof in, 0), (int)len);
    assert_memory_equal(in, out, len);
    assert_int_equal(hipc_chan_recv(c, in, sizeof in, 0), HIPC_E_AGAIN);
}

static void messages_of_zero_one_and_max_bytes_arrive_intact(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    assert_int_equal(p.max_msg, CAP - 8u);
    assert_int_equal(hipc_chan_send(&p, NULL, 0, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, NULL, 0, 0), 0);
    size_t lens[] = {1, 2, 7, 8, 9, CAP - 9, CAP - 8};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        round_trip(&p, &c, lens[i], (unsigned)i);
    region_free(&r);
}

static void
too_large_messages_are_refused_and_leave_the_ring_alone(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 100);
    hipc_chan p, c;
    pair(&r, &p, &c);
    unsigned char buf[CAP];
    fill(buf, sizeof buf, 3);
    assert_int_equal(hipc_chan_send(&p, buf, 101, 0), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_chan_send(&p, buf, CAP - 1, 0), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_chan_send(&p, buf, SIZE_MAX, 0), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(get32(&r, OFF_TAIL), 0);
    round_trip(&p, &c, 100, 4);
    region_free(&r);
}

/* Every starting offset of the ring, every length that fits: the bytes
 * that come out are the bytes that went in, pads included. */
static void wrap_around_at_every_offset_keeps_every_byte(void **state)
{
    (void)state;
    for (size_t start = 0; start < CAP; start += 8) {
        for (size_t len = 0; len <= CAP - 8; len += 13) {
            struct region r = region_new(CAP, 0);
            hipc_chan p, c;
            pair(&r, &p, &c);
            if (start >= 8) /* move both positions to `start` */
                round_trip(&p, &c, start - 8, 9);
            for (unsigned k = 0; k < 3; k++)
                round_trip(&p, &c, len, k);
            region_free(&r);
        }
    }
}

static void a_full_ring_says_again_then_timed_out(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    unsigned char buf[CAP] = {0};
    int sent = 0;
    while (hipc_chan_send(&p, buf, 24, 0) == HIPC_OK)
        sent++;
    assert_int_equal(sent, CAP / 32);
    assert_int_equal(hipc_chan_send(&p, buf, 24, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_send(&p, buf, 24, 1000000), HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_set_spin(&p, 0), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, buf, 24, 2000000), HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 24);
    assert_int_equal(hipc_chan_send(&p, buf, 24, 1000000), HIPC_OK);
    region_free(&r);
}

static void an_empty_ring_says_again_then_timed_out(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    unsigned char buf[8];
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 1000000),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_set_spin(&c, HIPC_CHAN_SPIN_ALWAYS), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 1000000),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, -2),
                     HIPC_E_BAD_TIMEOUT);
    assert_int_equal(hipc_chan_set_spin(&c, -1), HIPC_E_BAD_TIMEOUT);
    region_free(&r);
}

static void a_small_buffer_leaves_the_message_for_a_bigger_one(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    unsigned char out[40], in[40];
    fill(out, sizeof out, 5);
    assert_int_equal(hipc_chan_send(&p, out, sizeof out, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, in, 39, 0), HIPC_E_BUF_TOO_SMALL);
    assert_int_equal(hipc_chan_recv(&c, NULL, 8, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), (int)sizeof out);
    assert_memory_equal(in, out, sizeof out);
    region_free(&r);
}

static void
zero_copy_reserve_commit_peek_release_move_bytes_in_place(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    void *room = NULL;
    const void *msg = NULL;
    assert_int_equal(hipc_chan_reserve(&p, 64, &room, 0), HIPC_OK);
    assert_true((unsigned char *)room > r.mem &&
                (unsigned char *)room + 64 <= r.mem + r.size);
    assert_int_equal(hipc_chan_send(&p, "x", 1, 0), HIPC_E_BAD_STATE);
    memcpy(room, "hello", 5);
    assert_int_equal(hipc_chan_peek(&c, &msg, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_commit(&p, 65), HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_chan_commit(&p, 5), HIPC_OK);
    assert_int_equal(hipc_chan_commit(&p, 5), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_peek(&c, &msg, 0), 5);
    assert_ptr_equal(msg, room);
    assert_memory_equal(msg, "hello", 5);
    assert_int_equal(hipc_chan_recv(&c, NULL, 0, 0), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_release(&c), HIPC_OK);
    assert_int_equal(hipc_chan_release(&c), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_peek(&c, &msg, 0), HIPC_E_AGAIN);
    region_free(&r);
}

static void handles_are_checked_for_end_state_and_closure(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c, zero;
    memset(&zero, 0, sizeof zero);
    pair(&r, &p, &c);
    unsigned char buf[8] = {0};
    const void *msg = NULL;
    void *room = NULL;
    assert_int_equal(hipc_chan_send(&c, buf, 1, 0), HIPC_E_WRONG_END);
    assert_int_equal(hipc_chan_recv(&p, buf, 8, 0), HIPC_E_WRONG_END);
    assert_int_equal(hipc_chan_peek(&p, &msg, 0), HIPC_E_WRONG_END);
    assert_int_equal(hipc_chan_reserve(&c, 1, &room, 0), HIPC_E_WRONG_END);
    assert_int_equal(hipc_chan_send(&zero, buf, 1, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_send(NULL, buf, 1, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_send(&p, NULL, 1, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_reserve(&p, 1, NULL, 0), HIPC_E_NULL);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, buf, 1, 0), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_chan_close(&p), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* Rewrites one header field and expects `want` from the next attach. */
static void expect_attach(struct region *r, size_t off, uint32_t v, int want)
{
    uint32_t old = get32(r, off);
    put32(r, off, v);
    hipc_chan ch;
    assert_int_equal(hipc_chan_attach_mem(&ch, r->mem, r->size,
                                          HIPC_CHAN_CONSUMER, &anon),
                     want);
    put32(r, off, old);
}

static void corrupt_header_fields_give_exact_codes(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    expect_attach(&r, OFF_MAGIC, 0, HIPC_E_AGAIN);
    expect_attach(&r, OFF_MAGIC, 0xdeadbeef, HIPC_E_FOREIGN);
    expect_attach(&r, OFF_VERSION, 99, HIPC_E_VERSION);
    expect_attach(&r, OFF_ENDIAN, 0x04030201, HIPC_E_LAYOUT);
    expect_attach(&r, OFF_CAPACITY, 0, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_CAPACITY, CAP + 8, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_CAPACITY, CAP * 2, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_CAPACITY, 0x80000000u, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_MAX_MSG, CAP - 7, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_TAIL, CAP + 8, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_TAIL, 4, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_HEAD, 4, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_HEAD, CAP * 2, HIPC_E_CORRUPT);
    /* Ahead of the tail: no honest consumer gets there. */
    expect_attach(&r, OFF_HEAD, 16, HIPC_E_CORRUPT);
    expect_attach(&r, OFF_HEAD, 0, HIPC_OK);
    region_free(&r);
}

static void corrupt_positions_are_corrupt_for_the_reader(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    unsigned char buf[CAP];
    /* The producer claims more bytes than the ring holds. */
    put32(&r, OFF_TAIL, CAP + 8);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_CORRUPT);
    /* A misaligned tail. */
    put32(&r, OFF_TAIL, 12);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_CORRUPT);
    put32(&r, OFF_TAIL, 0);
    /* The consumer moves the head past the tail; the producer finds out
     * when it next needs the head, that is when its ring looks full. */
    size_t n = 0;
    while (hipc_chan_send(&p, buf, 8, 0) == HIPC_OK)
        n++;
    assert_int_equal(n, CAP / 16);
    put32(&r, OFF_HEAD, CAP + 8);
    assert_int_equal(hipc_chan_send(&p, buf, 8, 0), HIPC_E_CORRUPT);
    /* A head that is not a multiple of 8. */
    put32(&r, OFF_HEAD, 4);
    assert_int_equal(hipc_chan_send(&p, buf, CAP - 8, 0), HIPC_E_CORRUPT);
    region_free(&r);
}

/* A record header is {seq, len}: seq is the record's position | 1, and
 * PAD_BIT in len marks a pad (see lib/chan.c). */
#define PAD_BIT 0x80000000u

/* Puts a record {seq, len} at ring offset `at`, moves both positions
 * there and publishes `tail`; the consumer must answer `want`. */
static void expect_recv(uint32_t at, uint32_t seq, uint32_t len, uint32_t tail,
                        int want)
{
    struct region r = region_new(CAP, 64);
    put32(&r, OFF_HEAD, at);
    put32(&r, OFF_TAIL, at);
    hipc_chan p, c;
    pair(&r, &p, &c);
    put32(&r, HIPC_CHAN_HEADER_SIZE + at, seq);
    put32(&r, HIPC_CHAN_HEADER_SIZE + at + 4, len);
    put32(&r, OFF_TAIL, tail);
    unsigned char buf[CAP];
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), want);
    /* Asking again gives the same answer: nothing was consumed. */
    if (want < 0)
        assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), want);
    region_free(&r);
}

static void corrupt_record_lengths_and_kinds_are_corrupt(void **state)
{
    (void)state;
    const uint32_t end = CAP - 24; /* a record here has 24 bytes of room */
    expect_recv(0, 1, 16, 24, 16); /* the honest baseline */
    expect_recv(0, 1, 65, 80, HIPC_E_CORRUPT); /* above max_msg */
    expect_recv(0, 1, 0x7fffffffu, 80, HIPC_E_CORRUPT);
    expect_recv(0, 1, 0xffffffffu, 80, HIPC_E_CORRUPT);
    /* The tail says published, the record says otherwise. */
    expect_recv(0, 0, 16, 24, HIPC_E_CORRUPT);
    expect_recv(0, 9, 16, 24, HIPC_E_CORRUPT);
    /* Unpublished, or left from the previous lap: not there yet. */
    expect_recv(0, 0, 16, 0, HIPC_E_AGAIN);
    expect_recv(end, (end - CAP) | 1u, 16, end, HIPC_E_AGAIN);
    /* A tail that is misaligned or beyond the ring. */
    expect_recv(0, 0, 16, 4, HIPC_E_CORRUPT);
    expect_recv(0, 0, 16, CAP + 8, HIPC_E_CORRUPT);
    /* A record that would run past the end of the ring. */
    expect_recv(end, end | 1u, 24, end + 32, HIPC_E_CORRUPT);
    /* Pads: wrong length, at offset 0. */
    expect_recv(CAP - 16, (CAP - 16) | 1u, PAD_BIT | 8u, CAP, HIPC_E_CORRUPT);
    expect_recv(0, 1, PAD_BIT | CAP, CAP, HIPC_E_CORRUPT);
    /* An honest pad followed by a pad at offset 0: bounded, corrupt. */
    {
        struct region r = region_new(CAP, 64);
        put32(&r, OFF_HEAD, CAP - 16);
        put32(&r, OFF_TAIL, CAP - 16);
        hipc_chan p, c;
        pair(&r, &p, &c);
        put32(&r, HIPC_CHAN_HEADER_SIZE + CAP - 16, (CAP - 16) | 1u);
        put32(&r, HIPC_CHAN_HEADER_SIZE + CAP - 12, PAD_BIT | 16u);
        put32(&r, HIPC_CHAN_HEADER_SIZE, CAP | 1u);
        put32(&r, HIPC_CHAN_HEADER_SIZE + 4, PAD_BIT | CAP);
        put32(&r, OFF_TAIL, CAP - 16 + CAP);
        unsigned char buf[8];
        assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0),
                         HIPC_E_CORRUPT);
        region_free(&r);
    }
}

/* A producer killed between a record's seq word and the tail: the consumer
 * goes by the tail, so nobody has the record, and its send never returned.
 * The next producer writes over it; nothing is made up either. */
static void a_record_the_tail_missed_is_written_over(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    assert_int_equal(hipc_chan_send(&p, "first", 5, 0), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    put32(&r, OFF_TAIL, 0); /* as if the tail store never happened */
    char buf[8];
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          &anon),
                     HIPC_OK);
    assert_int_equal(get32(&r, OFF_TAIL), 0);
    assert_int_equal(hipc_chan_send(&p, "second", 6, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 6);
    assert_memory_equal(buf, "second", 6);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    region_free(&r);
}

/* Found by fuzzing: reserve one byte, write it, commit none. The byte now
 * sits where the next record's seq word goes; a producer that re-attached
 * used to take it, when it happened to equal that seq, for a record. */
static void reserved_but_uncommitted_bytes_never_become_a_message(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    void *room = NULL;
    assert_int_equal(hipc_chan_reserve(&p, 1, &room, 0), HIPC_OK);
    memset(room, 8 | 1, 1); /* the seq word of a record at position 8 */
    assert_int_equal(hipc_chan_commit(&p, 0), HIPC_OK);
    char buf[8];
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 0);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          &anon),
                     HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    region_free(&r);
}

static void an_end_is_held_by_one_process_and_can_be_taken_over(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c1, c2;
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c1, r.mem, r.size,
                                          HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c2, r.mem, r.size,
                                          HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(get32(&r, OFF_PROD_OWNER), (uint32_t)getpid());
    assert_int_equal(hipc_chan_send(&p, "one", 3, 0), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, "two", 3, 0), HIPC_OK);
    char buf[8];
    assert_int_equal(hipc_chan_recv(&c1, buf, sizeof buf, 0), 3);
    assert_int_equal(hipc_chan_close(&c1), HIPC_OK);
    /* The producer still has room, so it does not notice yet. */
    assert_int_equal(hipc_chan_send(&p, "три", 6, 0), HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c2, r.mem, r.size,
                                          HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c2, buf, sizeof buf, 0), 3);
    assert_memory_equal(buf, "two", 3);
    assert_int_equal(hipc_chan_recv(&c2, buf, sizeof buf, 0), 6);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c2), HIPC_OK);
    region_free(&r);
}

static void a_closed_producer_is_peer_gone_once_drained(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    char buf[8];
    /* No producer has come yet: that is a wait, not a departure. */
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 1000000),
                     HIPC_E_TIMEDOUT);
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, "last", 4, 0), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, HIPC_FOREVER), 4);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, HIPC_FOREVER),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* ---- other processes -------------------------------------------------- */

#define STREAM_MSGS 20000u

static size_t stream_len(unsigned i)
{
    return (i * 37u) % 120u;
}

static int child_produce(struct region *r)
{
    hipc_chan p;
    if (hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER, NULL) !=
        0)
        return 10;
    unsigned char buf[128];
    for (unsigned i = 0; i < STREAM_MSGS; i++) {
        fill(buf, stream_len(i), i);
        if (hipc_chan_send(&p, buf, stream_len(i), 10000000000) != HIPC_OK)
            return 11;
    }
    return hipc_chan_close(&p) == HIPC_OK ? 0 : 12;
}

/* A consumer that found more at several tail loads in a row waits for the
 * producer to get ahead (see let_producer_lead), but only in a call that
 * may wait, and only while the tail moves: with a producer that has
 * stopped, every message still arrives, in order. A hostile tail is as
 * corrupt as ever. */
static void
a_streaming_consumer_takes_what_a_stopped_producer_left(void **state)
{
    (void)state;
    const int64_t second = 1000000000;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c;
    pair(&r, &p, &c);
    char buf[16];
    for (unsigned i = 0; i < 8; i++) {
        char msg[8];
        fill((unsigned char *)msg, sizeof msg, i);
        assert_int_equal(hipc_chan_send(&p, msg, sizeof msg, 0), HIPC_OK);
        assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf,
                                        i % 2 ? second : 0),
                         8);
        assert_memory_equal(buf, msg, sizeof msg);
    }
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    const void *m = NULL;
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(hipc_chan_send(&p, "x", 1, 0), HIPC_OK);
        assert_int_equal(hipc_chan_peek(&c, &m, second), 1);
        assert_int_equal(hipc_chan_release(&c), HIPC_OK);
    }
    put32(&r, OFF_TAIL, get32(&r, OFF_TAIL) + CAP + 8);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, second),
                     HIPC_E_CORRUPT);
    region_free(&r);
}

static void a_child_streams_messages_through_blocking_waits(void **state)
{
    (void)state;
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(CAP, 0);
    hipc_chan c;
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    /* Half the runs sleep at once, so the futex path is taken as well. */
    assert_int_equal(hipc_chan_set_spin(&c, 0), HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_produce(&r));
    unsigned char in[128], want[128];
    for (unsigned i = 0; i < STREAM_MSGS; i++) {
        if (i == STREAM_MSGS / 2)
            assert_int_equal(hipc_chan_set_spin(&c, HIPC_CHAN_SPIN_DEFAULT), 0);
        int n = hipc_chan_recv(&c, in, sizeof in, 10000000000);
        assert_int_equal(n, (int)stream_len(i));
        fill(want, stream_len(i), i);
        assert_memory_equal(in, want, stream_len(i));
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 10000000000),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* The child sends three messages, reserves a fourth, writes half of it,
 * tells the parent and waits to be killed. */
static int child_dies_mid_message(struct region *r, int tell)
{
    hipc_chan p;
    if (hipc_chan_attach_mem(&p, r->mem, r->size, HIPC_CHAN_PRODUCER, NULL) !=
        0)
        return 10;
    for (unsigned i = 0; i < 3; i++)
        if (hipc_chan_send(&p, "abc", 3, 0) != HIPC_OK)
            return 11;
    void *room = NULL;
    if (hipc_chan_reserve(&p, 100, &room, 0) != HIPC_OK)
        return 12;
    memset(room, 'x', 50);
    char b = 1;
    if (write(tell, &b, 1) != 1)
        return 13;
    for (;;)
        pause();
}

static void a_producer_killed_mid_message_is_gone_and_replaceable(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    struct region r = region_new(CAP, 0);
    hipc_chan c, p2;
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child_dies_mid_message(&r, fds[1]));
    }
    close(fds[1]);
    char b = 0;
    assert_int_equal(read(fds[0], &b, 1), 1);
    close(fds[0]);
    /* While the child lives, its end is taken. */
    assert_int_equal(hipc_chan_attach_mem(&p2, r.mem, r.size,
                                          HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    char buf[128];
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 3);
    /* Drained, the first try that finds nothing asks /proc at once (this
     * consumer has made no failed try before): no waiting to learn it. */
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 10000000000),
                     HIPC_E_PEER_GONE);
    /* A new producer takes the dead one's place and its half message is
     * simply never seen. */
    assert_int_equal(hipc_chan_attach_mem(&p2, r.mem, r.size,
                                          HIPC_CHAN_PRODUCER, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_send(&p2, "new", 3, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 10000000000), 3);
    assert_memory_equal(buf, "new", 3);
    assert_int_equal(hipc_chan_close(&p2), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

static void a_killed_consumer_makes_a_full_ring_peer_gone(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    struct region r = region_new(CAP, 0);
    hipc_chan p;
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        hipc_chan c;
        int rc =
            hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER, NULL);
        _exit(rc == HIPC_OK ? 0 : 1); /* dies without closing */
    }
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    unsigned char buf[64] = {0};
    while (hipc_chan_send(&p, buf, sizeof buf, 0) == HIPC_OK)
        ;
    assert_int_equal(hipc_chan_send(&p, buf, sizeof buf, 10000000000),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    region_free(&r);
}

static void a_forked_copy_of_a_handle_closes_without_signing_out(void **state)
{
    (void)state;
    struct region r = region_new(CAP, 0);
    hipc_chan p, c, p2;
    assert_int_equal(hipc_chan_attach_mem(&p, r.mem, r.size, HIPC_CHAN_PRODUCER,
                                          NULL),
                     HIPC_OK);
    assert_int_equal(hipc_chan_attach_mem(&c, r.mem, r.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(hipc_chan_close(&p) == HIPC_OK ? 0 : 1);
    assert_int_equal(hipc_test_wait_child(pid, 30), 0);
    char buf[8];
    /* The producer is still this process: no departure, no vacancy. */
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_chan_attach_mem(&p2, r.mem, r.size,
                                          HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(hipc_chan_send(&p, "ok", 2, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), 2);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 0), HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    region_free(&r);
}

/* ---- channels in hipc segments ---------------------------------------- */

#define KEY ((key_t)0x48430001)

static void
a_created_channel_is_opened_by_key_and_carries_messages(void **state)
{
    (void)state;
    int before = hipc_test_shm_count();
    hipc_chan p, c;
    hipc_chan_config cfg = {.capacity = 4096, .max_msg = 1000};
    assert_int_equal(hipc_chan_create(&p, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    assert_int_equal(p.shm.tag, HIPC_CHAN_SHM_TAG);
    assert_int_equal(hipc_test_shm_count(), before + 1);
    assert_int_equal(hipc_chan_open(&c, KEY, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    assert_int_equal(c.capacity, 4096);
    assert_int_equal(c.max_msg, 1000);
    unsigned char out[1000], in[1000];
    fill(out, sizeof out, 8);
    assert_int_equal(hipc_chan_send(&p, out, sizeof out, 0), HIPC_OK);
    assert_int_equal(hipc_chan_send(&p, out, 1001, 0), HIPC_E_MSG_TOO_BIG);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), (int)sizeof in);
    assert_memory_equal(in, out, sizeof out);
    assert_int_equal(hipc_chan_remove(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), HIPC_E_STALE_HANDLE);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), before);
}

static void a_refused_create_leaves_no_segment(void **state)
{
    (void)state;
    int before = hipc_test_shm_count();
    hipc_chan ch, other;
    hipc_chan_config cfg = {.capacity = 100};
    assert_int_equal(hipc_chan_create(NULL, KEY, HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_NULL);
    assert_int_equal(hipc_chan_create(&ch, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_BAD_CAPACITY);
    cfg.capacity = 4096;
    cfg.max_msg = 4096;
    assert_int_equal(hipc_chan_create(&ch, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_BAD_SIZE);
    cfg.max_msg = 0;
    assert_int_equal(hipc_chan_create(&ch, KEY, (hipc_chan_role)0, &cfg),
                     HIPC_E_BAD_ROLE);
    cfg.mode = 01000;
    assert_int_equal(hipc_chan_create(&ch, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_E_BAD_MODE);
    assert_int_equal(hipc_test_shm_count(), before);
    cfg.mode = 0;
    assert_int_equal(hipc_chan_create(&ch, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_create(&other, KEY, HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_E_EXISTS);
    assert_int_equal(hipc_chan_open(&other, KEY, HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_EXISTS);
    assert_int_equal(hipc_test_shm_count(), before + 1);
    assert_int_equal(hipc_chan_remove(&ch), HIPC_OK);
    assert_int_equal(hipc_chan_close(&ch), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), before);
}

static void another_programs_segment_is_foreign(void **state)
{
    (void)state;
    hipc_shm shm;
    hipc_shm_config sc = {.size = 4096 + HIPC_CHAN_HEADER_SIZE, .tag = 7};
    assert_int_equal(hipc_shm_create(&shm, KEY, &sc), HIPC_OK);
    hipc_chan ch;
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_FOREIGN);
    /* Also when mapped lazily, where the tag is checked after attaching. */
    hipc_chan_config lazy = {.flags = HIPC_CHAN_LAZY};
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_CONSUMER, &lazy),
                     HIPC_E_FOREIGN);
    assert_int_equal(hipc_chan_open(&ch, KEY + 1, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_NOT_FOUND);
    assert_int_equal(hipc_chan_open_id(&ch, -1, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_BAD_ID);
    assert_int_equal(hipc_shm_remove(&shm), HIPC_OK);
    assert_int_equal(hipc_shm_close(&shm), HIPC_OK);
    /* A channel on plain memory has no segment to remove. */
    struct region r = region_new(CAP, 0);
    assert_int_equal(hipc_chan_attach_mem(&ch, r.mem, r.size,
                                          HIPC_CHAN_CONSUMER, &anon),
                     HIPC_OK);
    assert_int_equal(hipc_chan_remove(&ch), HIPC_E_BAD_STATE);
    assert_int_equal(hipc_chan_close(&ch), HIPC_OK);
    region_free(&r);
}

/* A creator that died between hipc_chan_create's segment and its format
 * (simulated: the segment as create makes it, never formatted). */
static int child_creates_unformatted(int tell, int hold)
{
    hipc_shm shm;
    hipc_shm_config sc = {.size = 4096 + HIPC_CHAN_HEADER_SIZE,
                          .tag = HIPC_CHAN_SHM_TAG};
    char c = 1;
    if (hipc_shm_create(&shm, KEY, &sc) != HIPC_OK || write(tell, &c, 1) != 1)
        return 1;
    /* With `hold`, stay attached as a creator still at work would. */
    if (hold >= 0)
        (void)read(hold, &c, 1);
    return 0;
}

static pid_t start_unformatted(int *hold_wr)
{
    int tell[2], hold[2];
    assert_int_equal(pipe(tell), 0);
    assert_int_equal(pipe(hold), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(tell[0]);
        close(hold[1]);
        _exit(
            child_creates_unformatted(tell[1], hold_wr != NULL ? hold[0] : -1));
    }
    close(tell[1]);
    close(hold[0]);
    char c = 0;
    assert_int_equal(read(tell[0], &c, 1), 1);
    close(tell[0]);
    if (hold_wr != NULL)
        *hold_wr = hold[1];
    else
        close(hold[1]);
    return pid;
}

static void a_channel_its_creator_never_formatted_is_peer_gone(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    int before = hipc_test_shm_count(), hold = -1;
    hipc_chan ch;
    /* Still attached and alive: it may be formatting right now. */
    pid_t pid = start_unformatted(&hold);
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_AGAIN);
    close(hold);
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
    /* Gone without formatting: never HIPC_E_AGAIN forever - whether we
     * are its only user, or someone else (an inspector) is attached too
     * and only the creator's death tells. */
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_E_PEER_GONE);
    void *look = shmat(shmget(KEY, 0, 0), NULL, SHM_RDONLY);
    assert_true(look != (void *)-1);
    assert_int_equal(hipc_chan_open(&ch, KEY, HIPC_CHAN_PRODUCER, NULL),
                     HIPC_E_PEER_GONE);
    assert_int_equal(shmdt(look), 0);
    /* And gc collects what it left. */
    hipc_seg_entry e;
    size_t found = 0;
    assert_int_equal(hipc_inspect_gc(&e, 1, &found, 0, NULL), 1);
    assert_int_equal(found, 1);
    assert_int_equal(hipc_test_shm_count(), before);
}

/* A handle copied by value cannot act: not on the ring, not on the
 * segment, and closing it leaves the original working. */
static void a_copied_handle_is_bad_and_cannot_hurt_the_original(void **state)
{
    (void)state;
    int before = hipc_test_shm_count();
    hipc_chan p, c, copy;
    hipc_chan_config cfg = {.capacity = 4096};
    unsigned char msg[8] = {1, 2, 3}, in[8];
    assert_int_equal(hipc_chan_create(&p, KEY, HIPC_CHAN_PRODUCER, &cfg),
                     HIPC_OK);
    assert_int_equal(hipc_chan_open(&c, KEY, HIPC_CHAN_CONSUMER, NULL),
                     HIPC_OK);
    memcpy(&copy, &p, sizeof copy);
    assert_int_equal(hipc_chan_send(&copy, msg, sizeof msg, 0),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_remove(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_close(&copy), HIPC_E_BAD_HANDLE);
    memcpy(&copy, &c, sizeof copy);
    assert_int_equal(hipc_chan_recv(&copy, in, sizeof in, 0),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_close(&copy), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_chan_send(&p, msg, sizeof msg, 0), HIPC_OK);
    assert_int_equal(hipc_chan_recv(&c, in, sizeof in, 0), (int)sizeof msg);
    assert_memory_equal(in, msg, sizeof msg);
    assert_int_equal(hipc_chan_remove(&p), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&p), HIPC_OK);
    assert_int_equal(hipc_test_shm_count(), before);
}

static int child_opens_and_dies(int id, int tell)
{
    hipc_chan p;
    if (hipc_chan_open_id(&p, id, HIPC_CHAN_PRODUCER, NULL) != HIPC_OK)
        return 10;
    if (hipc_chan_send(&p, "before", 6, 0) != HIPC_OK)
        return 11;
    void *room = NULL;
    if (hipc_chan_reserve(&p, 500, &room, 0) != HIPC_OK)
        return 12;
    memset(room, 'z', 250);
    char b = 1;
    if (write(tell, &b, 1) != 1)
        return 13;
    for (;;)
        pause();
}

static void a_child_killed_mid_message_over_a_segment_is_peer_gone(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "another process (its liveness or wait is the kernel's)");
    hipc_chan c;
    hipc_chan_config cfg = {.capacity = 4096};
    assert_int_equal(hipc_chan_create(&c, HIPC_SHM_KEY_PRIVATE,
                                      HIPC_CHAN_CONSUMER, &cfg),
                     HIPC_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(child_opens_and_dies(c.shm.id, fds[1]));
    }
    close(fds[1]);
    char b = 0;
    assert_int_equal(read(fds[0], &b, 1), 1);
    close(fds[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(hipc_test_wait_child(pid, 30), 128 + SIGKILL);
    char buf[600];
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 10000000000), 6);
    assert_memory_equal(buf, "before", 6);
    assert_int_equal(hipc_chan_recv(&c, buf, sizeof buf, 10000000000),
                     HIPC_E_PEER_GONE);
    assert_int_equal(hipc_chan_remove(&c), HIPC_OK);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mem_size_accepts_only_powers_of_two_in_bounds),
    cmocka_unit_test(init_rejects_bad_arguments_before_writing),
    cmocka_unit_test(attach_rejects_bad_arguments),
    cmocka_unit_test(messages_of_zero_one_and_max_bytes_arrive_intact),
    cmocka_unit_test(too_large_messages_are_refused_and_leave_the_ring_alone),
    cmocka_unit_test(wrap_around_at_every_offset_keeps_every_byte),
    cmocka_unit_test(a_full_ring_says_again_then_timed_out),
    cmocka_unit_test(an_empty_ring_says_again_then_timed_out),
    cmocka_unit_test(a_small_buffer_leaves_the_message_for_a_bigger_one),
    cmocka_unit_test(zero_copy_reserve_commit_peek_release_move_bytes_in_place),
    cmocka_unit_test(handles_are_checked_for_end_state_and_closure),
    cmocka_unit_test(corrupt_header_fields_give_exact_codes),
    cmocka_unit_test(corrupt_positions_are_corrupt_for_the_reader),
    cmocka_unit_test(corrupt_record_lengths_and_kinds_are_corrupt),
    cmocka_unit_test(a_record_the_tail_missed_is_written_over),
    cmocka_unit_test(reserved_but_uncommitted_bytes_never_become_a_message),
    cmocka_unit_test(an_end_is_held_by_one_process_and_can_be_taken_over),
    cmocka_unit_test(a_closed_producer_is_peer_gone_once_drained),
    cmocka_unit_test(a_streaming_consumer_takes_what_a_stopped_producer_left),
    cmocka_unit_test(a_child_streams_messages_through_blocking_waits),
    cmocka_unit_test(a_producer_killed_mid_message_is_gone_and_replaceable),
    cmocka_unit_test(a_killed_consumer_makes_a_full_ring_peer_gone),
    cmocka_unit_test(a_forked_copy_of_a_handle_closes_without_signing_out),
    cmocka_unit_test(a_created_channel_is_opened_by_key_and_carries_messages),
    cmocka_unit_test(a_refused_create_leaves_no_segment),
    cmocka_unit_test(a_channel_its_creator_never_formatted_is_peer_gone),
    cmocka_unit_test(a_copied_handle_is_bad_and_cannot_hurt_the_original),
    cmocka_unit_test(another_programs_segment_is_foreign),
    cmocka_unit_test(a_child_killed_mid_message_over_a_segment_is_peer_gone),
};

HIPC_TEST_MAIN(tests)
