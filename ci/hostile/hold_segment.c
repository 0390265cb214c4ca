/* SPDX-License-Identifier: MIT */
/* hipc CI — a live creator whose segment nobody has attached
 * (ci/stages/hostile.sh). It creates a segment, detaches, prints the id and
 * stays alive until its standard input closes; then removes the segment if
 * it is still there. Meanwhile another process, in another environment
 * (outside the creator's time namespace, with a stepped wall clock), runs
 * `hipcctl gc`, which must leave the segment of a creator that still runs.
 *
 *   hold_segment --hipc    a hipc segment (hipc_shm_create, then close)
 *   hold_segment --plain   a plain System V segment, never attached
 *
 * Exits 0 when it removed its segment at the end, 3 when the segment had
 * gone (someone removed it), 1 on a set-up error. */
#define _GNU_SOURCE
#include <hipc/hipc.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

static int create(int plain)
{
    if (plain)
        return shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    hipc_shm shm;
    hipc_shm_config cfg = {.size = 4096};
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK) {
        fprintf(stderr, "hold_segment: create: %s\n", hipc_err_name(rc));
        return -1;
    }
    int id = shm.id;
    rc = hipc_shm_close(&shm);
    if (rc != HIPC_OK) {
        fprintf(stderr, "hold_segment: close: %s\n", hipc_err_name(rc));
        shmctl(id, IPC_RMID, NULL);
        return -1;
    }
    return id;
}

int main(int argc, char **argv)
{
    if (argc != 2 ||
        (strcmp(argv[1], "--hipc") != 0 && strcmp(argv[1], "--plain") != 0)) {
        fprintf(stderr, "usage: %s --hipc|--plain\n", argv[0]);
        return 1;
    }
    int id = create(strcmp(argv[1], "--plain") == 0);
    if (id < 0) {
        perror("hold_segment");
        return 1;
    }
    printf("%d\n", id);
    fflush(stdout);
    while (getchar() != EOF)
        continue;
    return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : 3;
}
