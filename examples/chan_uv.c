/* SPDX-License-Identifier: MIT */
/* A channel consumer in a libuv loop that also serves a socket, in one
 * thread: the channel end's descriptor (hipc_chan_get_fd) is watched
 * with uv_poll_t like any other. A forked producer sends N messages
 * (argv[1], default 10000) and writes a byte to the socket after every
 * 1000th; the loop ends when the channel says the producer has gone and
 * the socket is at end of file. Exit 0 when every message came in order. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "hipc/chan.h"
#include "hipc/error.h"

struct app {
    hipc_chan c;
    uv_poll_t chan_watch, sock_watch;
    unsigned long next, ticks;
    int chan_done, sock_done, failed;
};

static void stop_if_done(struct app *a)
{
    if (a->chan_done)
        uv_poll_stop(&a->chan_watch);
    if (a->sock_done)
        uv_poll_stop(&a->sock_watch);
}

/* Readable: take every message there is, until a try answers AGAIN
 * (which arms the descriptor again) or the producer is gone. */
static void on_chan(uv_poll_t *w, int status, int events)
{
    struct app *a = w->data;
    (void)events;
    for (;;) {
        unsigned long v = 0;
        int n =
            status < 0 ? HIPC_E_SYS : hipc_chan_recv(&a->c, &v, sizeof v, 0);
        if (n == HIPC_E_AGAIN)
            return;
        if (n < 0) {
            a->chan_done = 1;
            a->failed |= n != HIPC_E_PEER_GONE;
            stop_if_done(a);
            return;
        }
        a->failed |= n != (int)sizeof v || v != a->next;
        a->next++;
    }
}

static void on_sock(uv_poll_t *w, int status, int events)
{
    struct app *a = w->data;
    char buf[64];
    (void)events;
    ssize_t n = status < 0 ? -1 : read(w->io_watcher.fd, buf, sizeof buf);
    if (n > 0) {
        a->ticks += (unsigned long)n;
        return;
    }
    a->sock_done = 1;
    a->failed |= n < 0;
    stop_if_done(a);
}

static int produce(int id, unsigned long count, int sock)
{
    hipc_chan p;
    if (hipc_chan_open_id(&p, id, HIPC_CHAN_PRODUCER, NULL) != HIPC_OK)
        return 1;
    for (unsigned long i = 0; i < count; i++) {
        if (hipc_chan_send(&p, &i, sizeof i, HIPC_FOREVER) != HIPC_OK)
            return 2;
        if ((i + 1) % 1000 == 0 && write(sock, "t", 1) != 1)
            return 3;
    }
    hipc_chan_close(&p);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    static struct app a;
    int sv[2], fd = -1, status = 1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        hipc_chan_create(&a.c, HIPC_SHM_KEY_PRIVATE, HIPC_CHAN_CONSUMER,
                         NULL) != HIPC_OK)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        _exit(produce(a.c.shm.id, count, sv[1]));
    }
    close(sv[1]);
    uv_loop_t *loop = uv_default_loop();
    if (pid < 0 || hipc_chan_get_fd(&a.c, &fd) != HIPC_OK ||
        uv_poll_init(loop, &a.chan_watch, fd) != 0 ||
        uv_poll_init(loop, &a.sock_watch, sv[0]) != 0) {
        hipc_chan_remove(&a.c);
        return 1;
    }
    a.chan_watch.data = a.sock_watch.data = &a;
    uv_poll_start(&a.chan_watch, UV_READABLE, on_chan);
    uv_poll_start(&a.sock_watch, UV_READABLE, on_sock);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Out of the loop before hipc_chan_close closes the descriptor. */
    uv_close((uv_handle_t *)&a.chan_watch, NULL);
    uv_close((uv_handle_t *)&a.sock_watch, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    hipc_chan_remove(&a.c); /* the producer is gone: nobody opens it now */
    hipc_chan_close(&a.c);
    close(sv[0]);
    waitpid(pid, &status, 0);
    printf("chan_uv: %lu messages, %lu socket bytes, producer %d\n", a.next,
           a.ticks, status);
    return !a.failed && a.next == count && a.ticks == count / 1000 &&
                   status == 0
               ? 0
               : 1;
}
