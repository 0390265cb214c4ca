/* SPDX-License-Identifier: MIT */
/* The channel's doorbell between two threads (for ThreadSanitizer): both
 * ends wait in epoll only, on a ring small enough that the producer
 * fills it often, so each end arms and rings the other many times. */
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hipc/chan.h"
#include "hipc/error.h"
#include "support.h"

HIPC_TEST_PROGRAM_NEEDS_KERNEL(
    "a doorbell is a socket, an epoll set and a timer, which a world does not simulate")

#define CAP 256u
#define COUNT 100000ul

struct shared {
    unsigned char *mem;
    size_t size;
};

/* Waits in epoll on the handle's descriptor: 0, or -1 on a failure. */
static int wait_bell(int ep)
{
    struct epoll_event ev;
    return epoll_wait(ep, &ev, 1, 30000) == 1 ? 0 : -1;
}

static int bell_epoll(hipc_chan *ch)
{
    int fd = -1, ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0)
        return -1;
    if (hipc_chan_get_fd(ch, &fd) == HIPC_OK) {
        ev.data.fd = fd;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
            return ep;
    }
    close(ep);
    return -1;
}

/* Sends COUNT values, waiting in epoll when the ring is full. Every way
 * out closes the end, so the consumer hears PEER_GONE instead of waiting
 * for a producer that gave up. */
static void *producer(void *arg)
{
    struct shared *s = arg;
    hipc_chan p;
    if (hipc_chan_attach_mem(&p, s->mem, s->size, HIPC_CHAN_PRODUCER, NULL) !=
        HIPC_OK)
        return (void *)1;
    void *ret = NULL;
    int ep = bell_epoll(&p);
    if (ep < 0)
        ret = (void *)2;
    for (unsigned long i = 0; ret == NULL && i < COUNT;) {
        int rc = hipc_chan_send(&p, &i, sizeof i, 0);
        if (rc == HIPC_OK)
            i++;
        else if (rc != HIPC_E_AGAIN || wait_bell(ep) != 0)
            ret = (void *)3;
    }
    if (ep >= 0)
        close(ep);
    if (hipc_chan_close(&p) != HIPC_OK && ret == NULL)
        ret = (void *)4;
    return ret;
}

static void two_threads_pass_messages_waiting_only_in_epoll(void **state)
{
    (void)state;
    /* Each end judges the other's liveness from /proc while it waits. */
    if (hipc_test_own_stat_is_faked())
        hipc_test_skip(HIPC_TEST_FAKED_STAT_REASON);
    /* Two bells (three descriptors and a ringing socket each), two epoll
     * sets, and each end's look at /proc after the other. */
    hipc_test_skip_unless_free_fds(12);
    struct shared s = {NULL, 0};
    hipc_chan_config cfg = {.capacity = CAP};
    assert_int_equal(hipc_chan_mem_size(CAP, &s.size), HIPC_OK);
    s.mem = mmap(NULL, s.size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(s.mem != MAP_FAILED);
    assert_int_equal(hipc_chan_init_mem(s.mem, s.size, &cfg), HIPC_OK);
    hipc_chan c;
    assert_int_equal(hipc_chan_attach_mem(&c, s.mem, s.size, HIPC_CHAN_CONSUMER,
                                          NULL),
                     HIPC_OK);
    int ep = bell_epoll(&c);
    assert_true(ep >= 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
    unsigned long next = 0;
    for (;;) {
        unsigned long v = 0;
        int rc = hipc_chan_recv(&c, &v, sizeof v, 0);
        if (rc == HIPC_E_PEER_GONE)
            break;
        if (rc == HIPC_E_AGAIN) {
            assert_int_equal(wait_bell(ep), 0);
            continue;
        }
        assert_int_equal(rc, sizeof v);
        assert_int_equal(v, next);
        next++;
    }
    void *ret = (void *)1;
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_null(ret);
    assert_int_equal(next, COUNT);
    close(ep);
    assert_int_equal(hipc_chan_close(&c), HIPC_OK);
    munmap(s.mem, s.size);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_threads_pass_messages_waiting_only_in_epoll),
};

HIPC_TEST_MAIN(tests)
