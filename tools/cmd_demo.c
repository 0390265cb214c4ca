/* SPDX-License-Identifier: MIT */
/* hipcctl demo: the seed's shared-memory scenario across a fork. The parent
 * creates and writes a segment, the child opens it by key and reads it,
 * answers, detaches; the parent reads the answer and removes the segment.
 * The two synchronise with pipes and waitpid, never with sleeps. */
#include "hipcctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEMO_TAG 0x44454d4fu /* "DEMO" */
#define DEMO_BYTES 4096u

/* The pipes between parent and child. */
struct demo_link {
    int to_child[2];
    int to_parent[2];
};

static void show_table(const char *when)
{
    hipc_seg_entry *e = NULL;
    size_t n = 0;
    int err = 0;
    printf("\n-- segment table %s --\n", when);
    int rc = hipcctl_list(&e, &n, 0, &err);
    if (rc != HIPC_OK)
        hipcctl_fail("demo: reading the segment table", rc, err);
    else
        hipcctl_print_table(stdout, e, n);
    free(e);
    putchar('\n');
    fflush(stdout);
}

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes; -1 on error or when the other side is gone. */
static int recv_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The child: open by key, read, answer, report, wait, detach. */
static int child_run(struct demo_link *l)
{
    key_t key = 0;
    char go = 0;
    if (recv_all(l->to_child[0], &key, sizeof key) != 0)
        return 1;
    hipc_shm shm;
    int rc = hipc_shm_open(&shm, key, 0, 0);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo (child): opening the segment", rc,
                            shm.sys_errno);
    printf("child  %ld: opened key 0x%08" PRIx32 " (id %d, tag 0x%08" PRIx32
           "), read: \"%.*s\"\n",
           (long)getpid(), (uint32_t)key, shm.id, shm.tag, (int)shm.size,
           (const char *)shm.data);
    snprintf(shm.data, shm.size, "hello back from child %ld", (long)getpid());
    printf("child  %ld: wrote its answer, stays attached until told\n",
           (long)getpid());
    fflush(stdout);
    if (send_all(l->to_parent[1], "a", 1) != 0 ||
        recv_all(l->to_child[0], &go, 1) != 0)
        rc = HIPC_E_PEER_GONE;
    int crc = hipc_shm_close(&shm);
    printf("child  %ld: detached\n", (long)getpid());
    fflush(stdout);
    return rc == HIPC_OK && crc == HIPC_OK ? 0 : 1;
}

/* The parent's part once the child runs; the segment is created. */
static int parent_talk(struct demo_link *l, hipc_shm *shm, pid_t child)
{
    char ack = 0;
    snprintf(shm->data, shm->size, "hello from parent %ld", (long)getpid());
    printf("parent %ld: wrote \"%s\"\n", (long)getpid(),
           (const char *)shm->data);
    fflush(stdout);
    if (send_all(l->to_child[1], &shm->key, sizeof shm->key) != 0 ||
        recv_all(l->to_parent[0], &ack, 1) != 0)
        return hipcctl_fail("demo: the child did not answer", HIPC_E_PEER_GONE,
                            0);
    show_table("while both processes are attached (nattch 2)");
    if (send_all(l->to_child[1], "g", 1) != 0)
        return hipcctl_fail("demo: telling the child", HIPC_E_PEER_GONE, 0);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return hipcctl_fail("demo: the child failed", HIPC_E_CHILD, 0);
    printf("parent %ld: child %ld exited; read its answer: \"%.*s\"\n",
           (long)getpid(), (long)child, (int)shm->size,
           (const char *)shm->data);
    show_table("after the child detached (nattch 1)");
    return HIPCCTL_EXIT_OK;
}

static int parent_run(struct demo_link *l, pid_t child)
{
    hipc_shm shm;
    hipc_shm_config cfg = {DEMO_BYTES, 0, 0600, DEMO_TAG};
    key_t seed = (key_t)(0x48490000 | (getpid() & 0xffff));
    int rc = hipc_shm_create_fresh(&shm, seed, &cfg);
    if (rc != HIPC_OK)
        return hipcctl_fail("demo: creating a segment", rc, shm.sys_errno);
    printf("parent %ld: created key 0x%08" PRIx32 " id %d: %zu payload bytes, "
           "%zu in the segment, tag 0x%08" PRIx32 ", attached\n",
           (long)getpid(), (uint32_t)shm.key, shm.id, shm.size, shm.seg_size,
           shm.tag);
    show_table("after create and attach (nattch 1)");
    int out = parent_talk(l, &shm, child);
    int rrc = hipc_shm_remove(&shm);
    int crc = hipc_shm_close(&shm);
    if (rrc != HIPC_OK || crc != HIPC_OK)
        return hipcctl_fail("demo: removing the segment",
                            rrc != HIPC_OK ? rrc : crc, shm.sys_errno);
    printf("parent %ld: detached and removed segment %d\n", (long)getpid(),
           shm.id);
    show_table("after remove (the segment is gone)");
    return out;
}

static void close_end(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_pair(int p[2])
{
    close_end(&p[0]);
    close_end(&p[1]);
}

int hipcctl_demo_shm(void)
{
    struct demo_link l;
    printf("== shared memory across a fork ==\n");
    fflush(stdout);
    if (pipe2(l.to_child, O_CLOEXEC) != 0)
        return hipcctl_fail("demo: pipe", HIPC_E_SYS, errno);
    if (pipe2(l.to_parent, O_CLOEXEC) != 0) {
        int err = errno;
        close_pair(l.to_child);
        return hipcctl_fail("demo: pipe", HIPC_E_SYS, err);
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Each side keeps only its own ends, so a side that dies is seen
         * as end-of-file by the other. */
        close_end(&l.to_child[1]);
        close_end(&l.to_parent[0]);
        _exit(child_run(&l));
    }
    close_end(&l.to_child[0]);
    close_end(&l.to_parent[1]);
    int rc;
    if (pid < 0)
        rc = hipcctl_fail("demo: fork", HIPC_E_SYS, errno);
    else
        rc = parent_run(&l, pid);
    close_pair(l.to_child);
    close_pair(l.to_parent);
    /* On a failure path the child sees the pipes close and exits. */
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    return rc;
}

int hipcctl_cmd_demo(int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return hipcctl_usage_error("demo takes no arguments");
    int rc = hipcctl_demo_shm();
    if (rc == HIPCCTL_EXIT_OK)
        rc = hipcctl_demo_pipe();
    /* Further parts of the demo are called here, in order. */
    return rc;
}
