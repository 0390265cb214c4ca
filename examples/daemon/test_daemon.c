/* SPDX-License-Identifier: MIT */
/* The daemon against the fault plan of <hipc/testing.h>: its status
 * segment meets ENOSPC, its control pipe is interrupted, its self-test
 * cannot start a process, its client writes garbage; and the daemon in a
 * simulated kernel (hipc_testing_sim_begin). Run in a private IPC
 * namespace (ci/stages/testing.sh): every test checks no segment is left. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hipc/error.h>
#include <hipc/testing.h>

#include "daemon.h"

#define RING 4096
static _Alignas(64) unsigned char cmd_mem[HIPC_CHAN_HEADER_SIZE + RING];
static _Alignas(64) unsigned char reply_mem[HIPC_CHAN_HEADER_SIZE + RING];

struct world {
    hipc_state_writer status;
    struct fw_daemon d;
    hipc_chan client, answers; /* the client's ends */
};
static struct world w;

static int segments(void)
{
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    int n = -1;
    char line[512];
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        n++;
    fclose(f);
    return n;
}

static int setup(void **state)
{
    (void)state;
    hipc_testing_reset();
    hipc_chan_config cfg = {RING, 0, 0, 0, 0};
    if (fw_status_create(&w.status, HIPC_SHM_KEY_PRIVATE) != HIPC_OK ||
        hipc_chan_init_mem(cmd_mem, sizeof cmd_mem, &cfg) != HIPC_OK ||
        hipc_chan_init_mem(reply_mem, sizeof reply_mem, &cfg) != HIPC_OK ||
        fw_daemon_attach(&w.d, cmd_mem, reply_mem, sizeof cmd_mem, &w.status) !=
            HIPC_OK ||
        hipc_chan_attach_mem(&w.client, cmd_mem, sizeof cmd_mem,
                             HIPC_CHAN_PRODUCER, NULL) != HIPC_OK ||
        hipc_chan_attach_mem(&w.answers, reply_mem, sizeof reply_mem,
                             HIPC_CHAN_CONSUMER, NULL) != HIPC_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hipc_testing_reset();
    hipc_chan_close(&w.client);
    hipc_chan_close(&w.answers);
    fw_daemon_detach(&w.d);
    hipc_state_remove(&w.status);
    hipc_state_close_writer(&w.status);
    return segments() == 0 ? 0 : -1;
}

static void ask(const char *cmd, size_t len, const char *want)
{
    char got[16] = {0};
    assert_int_equal(hipc_chan_send(&w.client, cmd, len, 0), HIPC_OK);
    assert_int_equal(fw_daemon_step(&w.d, 0), HIPC_OK);
    int n = hipc_chan_recv(&w.answers, got, sizeof got - 1, 0);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(got, want);
}

static void answers_and_keeps_status(void **state)
{
    (void)state;
    ask("P", 1, "pong");
    char set[5] = {'L'};
    uint32_t level = 42;
    memcpy(set + 1, &level, 4);
    ask(set, 5, "set");
    ask("?", 1, "bad");
    hipc_state_reader r;
    struct fw_status s;
    assert_int_equal(hipc_state_open_reader_id(&r, w.status.shm_.id, NULL),
                     HIPC_OK);
    assert_int_equal(hipc_state_read(&r, &s, sizeof s, NULL), (int)sizeof s);
    assert_int_equal(s.level, 42);
    assert_int_equal(s.handled, 3);
    assert_int_equal(hipc_state_close_reader(&r), HIPC_OK);
}

/* shmget fails with ENOSPC: the status block is not made, nothing leaks. */
static void status_segment_meets_enospc(void **state)
{
    (void)state;
    hipc_state_writer s;
    int before = segments();
    assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_SHMGET, 1, ENOSPC),
                     HIPC_OK);
    assert_int_equal(fw_status_create(&s, HIPC_SHM_KEY_PRIVATE), HIPC_E_LIMIT);
    assert_int_equal(s.sys_errno, ENOSPC);
    assert_int_equal(hipc_testing_get_fired(), 1);
    assert_int_equal(segments(), before);
}

/* The self-test cannot start its process: the daemon says so and goes on. */
static void self_test_without_clone(void **state)
{
    (void)state;
    ask("T", 1, "ok");
    assert_int_equal(hipc_testing_fail_every(HIPC_CALL_CLONE, EAGAIN), HIPC_OK);
    ask("T", 1, "fail");
    assert_int_equal(hipc_testing_get_fired(), 1);
    hipc_testing_reset();
    ask("T", 1, "ok");
}

/* The control pipe's read is interrupted, once by plan and then on every
 * first try: hipc retries, the stop byte still arrives. */
static void interrupted_control_read(void **state)
{
    (void)state;
    hipc_pipe ctl;
    hipc_testing_modes eintr = {1, 0, 1, 0};
    unsigned long before = 0, after = 0;
    assert_int_equal(hipc_pipe_create(&ctl, 0), HIPC_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(hipc_pipe_write_all(&ctl, "S", 1, NULL, 0), HIPC_OK);
        if (round == 0)
            assert_int_equal(hipc_testing_fail_nth(HIPC_CALL_READ, 1, EINTR),
                             HIPC_OK);
        else
            assert_int_equal(hipc_testing_set_modes(&eintr), HIPC_OK);
        assert_int_equal(hipc_testing_get_calls(HIPC_CALL_READ, &before),
                         HIPC_OK);
        assert_int_equal(fw_daemon_wait_stop(&ctl), HIPC_OK);
        assert_int_equal(hipc_testing_get_calls(HIPC_CALL_READ, &after),
                         HIPC_OK);
        assert_true(after - before >= 2); /* interrupted, then read */
    }
    assert_int_equal(hipc_testing_get_fired(), 1);
    hipc_testing_reset();
    assert_int_equal(hipc_pipe_close(&ctl), HIPC_OK);
}

/* A client that writes garbage into the channel: the daemon gets a code
 * (never a crash, never a wrong answer). */
static void client_writes_garbage(void **state)
{
    (void)state;
    unsigned char junk[8 + 256];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 37u + 11u);
    assert_int_equal(hipc_testing_chan_peer(&w.client, junk, sizeof junk),
                     (int)sizeof junk);
    int rc = fw_daemon_step(&w.d, 0);
    assert_true(rc == HIPC_E_CORRUPT || rc == HIPC_E_AGAIN);
}

/* Bytes that form a record where the client's producer would have put
 * one (the layout of hipc_testing(3) and of examples/daemon/corpus/ping):
 * the daemon reads the command through the hook as if it were sent. */
static void client_bytes_that_form_a_command(void **state)
{
    (void)state;
    uint32_t input[4] = {16, 0, 1, 1}; /* tail, sleep, seq = pos | 1, len */
    unsigned char bytes[24] = {0};
    memcpy(bytes, input, sizeof input);
    bytes[16] = 'P';
    assert_int_equal(hipc_testing_chan_peer(&w.client, bytes, sizeof bytes),
                     (int)sizeof bytes);
    assert_int_equal(fw_daemon_step(&w.d, 0), HIPC_OK);
    char got[8] = {0};
    assert_int_equal(hipc_chan_recv(&w.answers, got, sizeof got - 1, 0), 4);
    assert_string_equal(got, "pong");
}

/* The daemon against the simulated kernel: its status block lives in a
 * world in this process's memory (no segment on the machine), a world
 * whose segment table (two here) is full refuses another block with
 * ENOSPC as the kernel's SHMMNI would, and the daemon's teardown leaves the world
 * empty. */
static void runs_in_a_simulated_world(void **state)
{
    (void)state;
    hipc_testing_sim_limits two = {0, 0, 2};
    hipc_testing_sim_usage u;
    hipc_state_writer more;
    int before = segments();
    assert_int_equal(hipc_testing_sim_begin(&two), HIPC_OK);
    assert_int_equal(setup(NULL), 0);
    ask("P", 1, "pong");
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.running, 1);
    assert_int_equal(u.segments, 2); /* a state block and its board */
    assert_int_equal(segments(), before);
    assert_int_equal(fw_status_create(&more, HIPC_SHM_KEY_PRIVATE),
                     HIPC_E_LIMIT);
    assert_int_equal(more.sys_errno, ENOSPC);
    assert_int_equal(teardown(NULL), 0);
    assert_int_equal(hipc_testing_get_sim(&u), HIPC_OK);
    assert_int_equal(u.segments, 0);
    assert_int_equal(u.attachments, 0);
    assert_int_equal(hipc_testing_sim_end(), HIPC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(answers_and_keeps_status, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(status_segment_meets_enospc, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(self_test_without_clone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(interrupted_control_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(client_writes_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(client_bytes_that_form_a_command, setup,
                                        teardown),
        cmocka_unit_test(runs_in_a_simulated_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
