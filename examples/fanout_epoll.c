/* SPDX-License-Identifier: MIT */
/* One thread, one epoll loop, three sources: a state block's reader (the
 * latest reading of a sensor), a broadcast consumer (every event, in
 * order) and a periodic timerfd (a watchdog tick). Each hipc end gives a
 * descriptor (hipc_state_get_fd, hipc_bcast_get_fd) that the loop watches
 * like any other; when it is readable, the loop tries with timeout 0
 * until HIPC_E_AGAIN, which arms it again.
 *
 * A forked writer process makes both objects, publishes 2000 readings and
 * 10000 events, then closes: the loop ends when both ends say
 * HIPC_E_PEER_GONE. Run with no arguments; exits 0 when the last reading
 * came and every event was received or counted lost, in order. Both
 * segments are removed as soon as the loop has attached them. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hipc/bcast.h"
#include "hipc/error.h"
#include "hipc/state.h"

#define SENSOR_KEY ((hipc_key)0x4869f001)
#define EVENTS_KEY ((hipc_key)0x4869f002)
#define READINGS 2000u
#define EVENTS 10000u

struct reading {
    uint64_t n;
    double celsius;
};

enum source { STATE, BCAST, TICK };

struct app {
    hipc_state_reader sensor;
    hipc_bcast events;
    uint64_t last_reading, next_event, lost, ticks;
    int open_ends, failed;
};

/* Readable: read the newest value until the try answers HIPC_E_AGAIN. */
static int on_state(struct app *a)
{
    int rc;
    while ((rc = hipc_state_wait(&a->sensor, 0)) == HIPC_OK) {
        struct reading v;
        if (hipc_state_read(&a->sensor, &v, sizeof v, NULL) != sizeof v ||
            v.n < a->last_reading)
            a->failed = 1;
        a->last_reading = v.n; /* readings in between may be skipped */
    }
    return rc;
}

/* Readable: receive every event until the try answers HIPC_E_AGAIN. */
static int on_bcast(struct app *a)
{
    for (;;) {
        uint64_t e, lost = 0;
        int n = hipc_bcast_recv(&a->events, &e, sizeof e, 0);
        if (n == HIPC_E_OVERRUN) { /* we fell behind: counted, not hidden */
            (void)hipc_bcast_get_lost(&a->events, &lost, NULL);
            a->lost += lost;
            a->next_event += lost;
            continue;
        }
        if (n < 0)
            return n;
        a->failed |= n != (int)sizeof e || e != a->next_event;
        a->next_event++;
    }
}

/* HIPC_E_AGAIN: armed, wait again. HIPC_E_PEER_GONE: the writer closed;
 * the descriptor stays readable, so it leaves the loop. */
static void settle(struct app *a, int ep, int fd, int rc)
{
    if (rc == HIPC_E_AGAIN)
        return;
    a->failed |= rc != HIPC_E_PEER_GONE;
    (void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    a->open_ends--;
}

/* The loop: HIPC_OK once both ends are done, HIPC_E_SYS when the loop
 * cannot be made, HIPC_E_CORRUPT when something came wrong or late. */
static int serve(struct app *a, int fds[3])
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return HIPC_E_SYS;
    for (int s = STATE; s <= TICK; s++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)s};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[s], &ev) != 0)
            a->failed = 1;
    }
    a->open_ends = 2;
    while (a->open_ends > 0 && !a->failed) {
        struct epoll_event ev[3];
        int n = epoll_wait(ep, ev, 3, 10000);
        a->failed |= n <= 0; /* ten seconds without anything: stuck */
        for (int i = 0; i < n; i++) {
            uint64_t expired;
            if (ev[i].data.u32 == STATE)
                settle(a, ep, fds[STATE], on_state(a));
            else if (ev[i].data.u32 == BCAST)
                settle(a, ep, fds[BCAST], on_bcast(a));
            else if (read(fds[TICK], &expired, sizeof expired) > 0)
                a->ticks += expired;
        }
    }
    close(ep);
    return a->failed ? HIPC_E_CORRUPT : HIPC_OK;
}

/* The writer process: makes both objects, says so, waits until the loop
 * has attached them, removes them (they go with the last detach) and
 * publishes. */
static int publish_all(hipc_state_writer *w, hipc_bcast *p)
{
    for (uint64_t e = 0; e < EVENTS; e++) {
        if (hipc_bcast_send(p, &e, sizeof e) != HIPC_OK)
            return 1;
        if (e % (EVENTS / READINGS) == 0) {
            struct reading v = {e / (EVENTS / READINGS) + 1,
                                20.0 + (double)(e % 7)};
            if (hipc_state_publish(w, &v, sizeof v) != HIPC_OK)
                return 1;
        }
        if (e % 100 == 99) { /* a rate the loop can follow */
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

static int writer(int sock)
{
    hipc_state_writer w;
    hipc_bcast p;
    int rc = hipc_state_create(&w, SENSOR_KEY, sizeof(struct reading), NULL);
    if (rc != HIPC_OK)
        return 1;
    rc = hipc_bcast_create(&p, EVENTS_KEY, NULL);
    char go = 0;
    int ok =
        rc == HIPC_OK && write(sock, "r", 1) == 1 && read(sock, &go, 1) == 1;
    (void)hipc_state_remove(&w);
    if (rc == HIPC_OK)
        (void)hipc_bcast_remove(&p);
    if (ok)
        ok = publish_all(&w, &p) == 0;
    (void)hipc_state_close_writer(&w);
    if (rc == HIPC_OK)
        (void)hipc_bcast_close(&p);
    return ok ? 0 : 1;
}

static int attach(struct app *a, int sock, int fds[3])
{
    char ready;
    if (read(sock, &ready, 1) != 1)
        return HIPC_E_PEER_GONE;
    int rc = hipc_state_open_reader(&a->sensor, SENSOR_KEY, NULL);
    if (rc == HIPC_OK)
        rc = hipc_bcast_open_consumer(&a->events, EVENTS_KEY, NULL);
    if (rc == HIPC_OK)
        rc = hipc_state_get_fd(&a->sensor, &fds[STATE]);
    if (rc == HIPC_OK)
        rc = hipc_bcast_get_fd(&a->events, &fds[BCAST]);
    return rc;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        _exit(writer(sv[1]));
    }
    close(sv[1]);
    struct app a = {0};
    int fds[3] = {-1, -1, -1};
    int rc = child > 0 ? attach(&a, sv[0], fds) : HIPC_E_SYS;
    fds[TICK] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec every_10ms = {{0, 10000000}, {0, 10000000}};
    if (rc == HIPC_OK && fds[TICK] >= 0 &&
        timerfd_settime(fds[TICK], 0, &every_10ms, NULL) == 0 &&
        write(sv[0], "g", 1) == 1)
        rc = serve(&a, fds);
    else if (rc == HIPC_OK)
        rc = HIPC_E_SYS;
    close(sv[0]); /* a writer still waiting for "go" gives up */
    int status = 0;
    if (child > 0 && waitpid(child, &status, 0) != child)
        status = -1;
    (void)hipc_state_close_reader(&a.sensor);
    (void)hipc_bcast_close(&a.events);
    if (fds[TICK] >= 0)
        close(fds[TICK]);
    printf("last reading %" PRIu64 " of %u; events %" PRIu64
           " received, %" PRIu64 " lost, of %u; %" PRIu64 " ticks; %s\n",
           a.last_reading, READINGS, a.next_event - a.lost, a.lost, EVENTS,
           a.ticks, hipc_err_name(rc));
    return rc == HIPC_OK && status == 0 && a.last_reading == READINGS &&
                   a.next_event == EVENTS
               ? 0
               : 1;
}
