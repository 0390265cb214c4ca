/* SPDX-License-Identifier: MIT */
/* Two unrelated programs meeting at a named pipe (FIFO): a server makes
 * the FIFO in a directory and reads framed requests from it; a client,
 * started on its own, writes them. Neither blocks for ever if the other
 * never comes: every open and every transfer has a deadline.
 *
 *   fifo_pair server DIR    make DIR/requests, print what arrives, remove it
 *   fifo_pair client DIR    send three requests (waits for the FIFO)
 *   fifo_pair               the whole scenario: a private directory, the
 *                           client started first, then the server, each
 *                           as its own program (exec); exits 0 when both
 *                           did and nothing is left in the directory
 *
 * The directory must be the caller's (or root's) and not writable by
 * others unless sticky, like /tmp: hipc refuses it otherwise, and refuses
 * a FIFO in it that is a symlink, someone else's, or wider than asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/fifo.h"
#include "hipc/hipc.h"

#define NAME "requests"
#define MODE 0600
#define MAX_REQUEST 256
#define SECONDS(s) ((int64_t)(s)*1000000000)

static int report(const char *who, const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "fifo_pair %s: %s: %s (%s, errno %d)\n", who, what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* Reads frames until the client closes its end; removes the FIFO. */
static int serve(hipc_fifo_dir *d)
{
    hipc_pipe in;
    int rc =
        hipc_fifo_open(d, NAME, MODE, HIPC_PIPE_READ_END, &in, SECONDS(10));
    if (rc != HIPC_OK)
        return report("server", "open", rc, d->sys_errno);
    char buf[MAX_REQUEST + 1];
    int n = 0;
    while ((rc = hipc_pipe_recv_frame(&in, buf, MAX_REQUEST, MAX_REQUEST,
                                      SECONDS(10))) >= 0) {
        buf[rc] = '\0';
        printf("server got: %s\n", buf);
        n++;
    }
    int eof = rc == HIPC_E_EOF;
    if (!eof)
        report("server", "recv", rc, in.sys_errno);
    hipc_pipe_close(&in);
    return eof && n == 3 ? 0 : 1;
}

static int server(const char *dir)
{
    hipc_fifo_dir d;
    int rc = hipc_fifo_dir_open(&d, dir, NULL);
    if (rc != HIPC_OK)
        return report("server", "directory", rc, d.sys_errno);
    rc = hipc_fifo_create(&d, NAME, MODE);
    int code =
        rc == HIPC_OK ? serve(&d) : report("server", "create", rc, d.sys_errno);
    if (rc == HIPC_OK && (rc = hipc_fifo_remove(&d, NAME, MODE)) != HIPC_OK)
        code = report("server", "remove", rc, d.sys_errno);
    hipc_fifo_dir_close(&d);
    return code;
}

static int client(const char *dir)
{
    static const char *const requests[] = {"status", "update 1.1", "bye"};
    hipc_fifo_dir d;
    int rc = hipc_fifo_dir_open(&d, dir, NULL);
    if (rc != HIPC_OK)
        return report("client", "directory", rc, d.sys_errno);
    /* Waits for the server to make the FIFO and open its read side. */
    hipc_pipe out;
    rc = hipc_fifo_open(&d, NAME, MODE, HIPC_PIPE_WRITE_END, &out, SECONDS(10));
    hipc_fifo_dir_close(&d);
    if (rc != HIPC_OK)
        return report("client", "open", rc, d.sys_errno);
    for (size_t i = 0; i < 3 && rc == HIPC_OK; i++)
        rc = hipc_pipe_send_frame(&out, requests[i], strlen(requests[i]),
                                  MAX_REQUEST, SECONDS(10));
    if (rc != HIPC_OK)
        report("client", "send", rc, out.sys_errno);
    hipc_pipe_close(&out);
    return rc == HIPC_OK ? 0 : 1;
}

/* Starts this program again as `role`: a process of its own that shares
 * nothing with the other but the directory's name. */
static pid_t start(const char *role, const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", "fifo_pair", role, dir, (char *)NULL);
        perror("fifo_pair: exec");
        _exit(127);
    }
    return pid;
}

static int finished_well(pid_t pid)
{
    int status = 0;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

static int scenario(void)
{
    char dir[] = "/tmp/fifo_pair-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("fifo_pair: mkdtemp");
        return 1;
    }
    /* The client first: it waits for the FIFO the server will make. */
    pid_t c = start("client", dir);
    pid_t s = start("server", dir);
    int ok = finished_well(c);
    ok = finished_well(s) && ok;
    /* rmdir fails unless the directory is empty: nothing was left. */
    if (rmdir(dir) != 0) {
        perror("fifo_pair: rmdir");
        ok = 0;
    }
    printf("fifo_pair: %s\n", ok ? "done, nothing left" : "FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return scenario();
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        return server(argv[2]);
    if (argc == 3 && strcmp(argv[1], "client") == 0)
        return client(argv[2]);
    fprintf(stderr, "usage: fifo_pair [server DIR | client DIR]\n");
    return 2;
}
