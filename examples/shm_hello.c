/* SPDX-License-Identifier: MIT */
/* The seed's shared-memory program, written against hipc: the parent
 * creates a segment, a forked child writes a greeting into it, the parent
 * reads it once the child is done, then detaches and removes the segment.
 * Every hipc call's failure is printed with its code name and errno. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hipc/hipc.h"

static int report(const char *what, int rc, int sys_errno)
{
    fprintf(stderr, "shm_hello: %s: %s (%s, errno %d)\n", what,
            hipc_err_name(rc), hipc_strerror(rc), sys_errno);
    return 1;
}

/* The child inherits the attachment across fork: it writes and detaches
 * its own copy of the handle. */
static int child(hipc_shm *shm)
{
    snprintf((char *)shm->data, shm->size, "hello from child %ld",
             (long)getpid());
    int rc = hipc_shm_close(shm);
    return rc == HIPC_OK ? 0 : report("child close", rc, shm->sys_errno);
}

static int parent(hipc_shm *shm, pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "shm_hello: the child failed\n");
        return 1;
    }
    printf("parent %ld read: \"%s\"\n", (long)getpid(),
           (const char *)shm->data);
    hipc_shm_info info;
    int rc = hipc_shm_stat(shm, &info);
    if (rc != HIPC_OK)
        return report("stat", rc, shm->sys_errno);
    printf("segment %d: %zu bytes requested, %zu in the segment, %zu mapped, "
           "%lu attached, creator %ld, last %ld\n",
           shm->id, shm->requested, shm->seg_size, shm->rounded, info.nattch,
           (long)info.cpid, (long)info.lpid);
    return 0;
}

int main(void)
{
    hipc_shm shm;
    hipc_shm_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.size = 1024;
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK)
        return report("create", rc, shm.sys_errno);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(&shm));
    int failed = pid < 0 ? report("fork", HIPC_E_SYS, 0) : parent(&shm, pid);
    rc = hipc_shm_detach(&shm);
    if (rc != HIPC_OK)
        failed = report("detach", rc, shm.sys_errno);
    rc = hipc_shm_remove(&shm);
    if (rc != HIPC_OK)
        failed = report("remove", rc, shm.sys_errno);
    (void)hipc_shm_close(&shm);
    if (!failed)
        printf("detached and removed segment %d\n", shm.id);
    return failed;
}
