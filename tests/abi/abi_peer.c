/* SPDX-License-Identifier: MIT */
/* One side of the cross-ABI check (ci/stages/cross.sh): two builds of this
 * program for different ABIs share one System V segment, and the segment
 * header's layout fingerprint must let them in only when pointer width and
 * endianness agree.
 *
 *   abi_peer create       creates a hipc segment, fills its payload, prints
 *                         "<id> <pointer bits>" and holds the segment until
 *                         standard input closes; then removes it.
 *   abi_peer open ID WANT opens segment ID and exits 0 only when the result
 *                         is WANT (HIPC_OK, HIPC_E_LAYOUT, ...); on HIPC_OK
 *                         it also checks the payload and the tag.
 */
#include <hipc/hipc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEER_TAG 0x41424931u /* "ABI1" */
#define PEER_BYTES 4096u

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7u + 3u);
}

static int create(void)
{
    hipc_shm shm;
    hipc_shm_config cfg = {.size = PEER_BYTES, .tag = PEER_TAG};
    int rc = hipc_shm_create(&shm, HIPC_SHM_KEY_PRIVATE, &cfg);
    if (rc != HIPC_OK) {
        fprintf(stderr, "abi_peer: create: %s\n", hipc_err_name(rc));
        return 1;
    }
    unsigned char *p = shm.data;
    for (size_t i = 0; i < PEER_BYTES; i++)
        p[i] = pattern(i);
    printf("%d %u\n", shm.id, (unsigned)(sizeof(void *) * 8u));
    fflush(stdout);
    /* The peer runs now; it is done when our standard input closes. */
    while (getchar() != EOF)
        continue;
    rc = hipc_shm_remove(&shm);
    int rc2 = hipc_shm_close(&shm);
    return rc == HIPC_OK && rc2 == HIPC_OK ? 0 : 1;
}

static int payload_ok(const hipc_shm *shm)
{
    const unsigned char *p = shm->data;
    if (shm->tag != PEER_TAG || shm->size < PEER_BYTES)
        return 0;
    for (size_t i = 0; i < PEER_BYTES; i++)
        if (p[i] != pattern(i))
            return 0;
    return 1;
}

static int open_and_expect(int id, const char *want)
{
    hipc_shm shm;
    int rc = hipc_shm_open_id(&shm, id, 0, HIPC_SHM_RDONLY);
    int ok = strcmp(hipc_err_name(rc), want) == 0;
    if (rc == HIPC_OK) {
        ok = ok && payload_ok(&shm);
        if (hipc_shm_close(&shm) != HIPC_OK)
            ok = 0;
    }
    printf("abi_peer: %u-bit open of segment %d: %s (expected %s)\n",
           (unsigned)(sizeof(void *) * 8u), id, hipc_err_name(rc), want);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "create") == 0)
        return create();
    if (argc == 4 && strcmp(argv[1], "open") == 0)
        return open_and_expect(atoi(argv[2]), argv[3]);
    fprintf(stderr, "usage: abi_peer create | abi_peer open ID WANT\n");
    return 2;
}
