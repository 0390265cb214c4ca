/* SPDX-License-Identifier: MIT */
/* hipc tests — isolation, leak proof and privilege dropping shared by every
 * test program. */
#ifndef HIPC_TEST_SUPPORT_H
#define HIPC_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>
#include <sys/types.h>
#include <time.h>

/* Moves the process into a private IPC namespace (as root: unshare
 * CLONE_NEWIPC; otherwise a user namespace mapping us to root as well).
 * Returns 1 when isolated, 0 when the machine's namespace must be shared,
 * in which case leak checks compare against a snapshot instead. */
int hipc_test_isolate(void);

/* Open descriptors of this process (entries of /proc/self/fd, and a
 * simulated world's descriptors). */
int hipc_test_fd_count(void);

/* Descriptors this process may still open under its soft RLIMIT_NOFILE
 * (fewer when some are numbered above it; INT_MAX without a limit). */
int hipc_test_free_fds(void);

/* Segments visible in /proc/sysvipc/shm (in a simulated world: the
 * world's, removed ones still attached included, as the kernel lists
 * them). */
int hipc_test_shm_count(void);
/* Segments in /proc/sysvipc/shm, the kernel's, even in a simulated world. */
int hipc_test_kernel_shm_count(void);

/* A segment whose creator has exited and that nobody attaches, made by a
 * child with plain libc (so none of its calls reach a fault plan): its
 * id, or -1. */
int hipc_test_make_orphan(void);

/* cmocka setup and teardown for tests that must not leak a descriptor:
 * the teardown fails the test when the count differs from the setup's.
 * Both also clear any fault plan, so none carries over between tests. */
int hipc_test_fd_setup(void **state);
int hipc_test_fd_teardown(void **state);

/* The unprivileged ids that permission tests drop to. */
#define HIPC_TEST_UID 65534
#define HIPC_TEST_GID 65534

/* In a forked child: drop every privilege, for EACCES paths. Returns 0, or
 * -1 when the drop failed (the child must then exit with an error). */
int hipc_test_drop_privileges(void);

/* Waits for `pid` and returns its exit code; a child killed by a signal
 * yields 128 + signal number. A child not done within `seconds` is killed
 * so one hang cannot take the suite down. */
int hipc_test_wait_child(pid_t pid, unsigned seconds);

/* Runs the group with isolation and a final leak check: the run fails when
 * any segment or descriptor created during it is still there. */
int hipc_test_run_group(const char *name, const struct CMUnitTest *tests,
                        size_t count);

#define HIPC_TEST_MAIN(tests)                                                  \
    int main(void)                                                             \
    {                                                                          \
        return hipc_test_run_group(__FILE__, (tests),                          \
                                   sizeof(tests) / sizeof((tests)[0]));        \
    }

/* Pipe programs run their group twice: with writes that carry RWF_NOSIGNAL
 * (what hipc uses where the kernel has it) and with the signal-mask guard
 * that older kernels get, so both ways keep every test. */
int hipc_test_run_group_both_guards(const char *name,
                                    const struct CMUnitTest *tests,
                                    size_t count);

#define HIPC_TEST_MAIN_BOTH_GUARDS(tests)                                      \
    int main(void)                                                             \
    {                                                                          \
        return hipc_test_run_group_both_guards(__FILE__, (tests),              \
                                               sizeof(tests) /                 \
                                                   sizeof((tests)[0]));        \
    }

/* cmocka fixtures for pipe tests: the SIGPIPE guard is set up per test and
 * put back by the teardown, which cmocka runs even after a failed assert,
 * so no test can leave the next one in another mode. guard_setup gives the
 * test its group's mode (RWF_NOSIGNAL or the mask, as the run says);
 * mask_setup the signal mask, as on a kernel without RWF_NOSIGNAL;
 * nosignal_setup RWF_NOSIGNAL, as if the kernel had never refused it.
 * All three include the descriptor-leak check of hipc_test_fd_setup. */
int hipc_test_guard_setup(void **state);
int hipc_test_mask_setup(void **state);
int hipc_test_nosignal_setup(void **state);
int hipc_test_guard_teardown(void **state);

#define HIPC_PIPE_TEST(f)                                                      \
    cmocka_unit_test_setup_teardown(f, hipc_test_guard_setup,                  \
                                    hipc_test_guard_teardown)
#define HIPC_PIPE_TEST_MASKED(f)                                               \
    cmocka_unit_test_setup_teardown(f, hipc_test_mask_setup,                   \
                                    hipc_test_guard_teardown)
#define HIPC_PIPE_TEST_NOSIGNAL(f)                                             \
    cmocka_unit_test_setup_teardown(f, hipc_test_nosignal_setup,               \
                                    hipc_test_guard_teardown)

/* Skips the running test and says why (cmocka's skip() takes no reason). */
#define hipc_test_skip(why)                                                    \
    do {                                                                       \
        print_message("[  SKIPPED ] %s\n", (why));                             \
        skip();                                                                \
    } while (0)

/* Skips a test that needs `n` descriptors at once when the limit leaves
 * fewer (the hostile stage's nofile runs): running out is then the
 * environment, not the code under test. */
#define hipc_test_skip_unless_free_fds(n)                                      \
    do {                                                                       \
        if (hipc_test_free_fds() < (n))                                        \
            hipc_test_skip("too few free descriptors for this test");          \
    } while (0)

/* Non-zero when this process reads its own /proc/PID/stat differently from
 * how other processes read it. qemu-user fakes the file for the emulated
 * process itself (the program's name where the kernel shows qemu's, no
 * state letter, and a start time of its own per thread), so a pid plus
 * start-time identity that one process or thread records and another
 * checks cannot match there; tests of liveness across processes or threads
 * skip on this condition. */
int hipc_test_own_stat_is_faked(void);
#define HIPC_TEST_FAKED_STAT_REASON                                            \
    "this process's /proc/self/stat is emulated (qemu-user): its start time "  \
    "differs from what peers read, so liveness across processes and "          \
    "threads cannot be tested"

/* The wall-clock second the kernel stamps System V objects with (shm_ctime,
 * atime, dtime): CLOCK_REALTIME_COARSE, updated once per tick. time() and
 * CLOCK_REALTIME can already show the next second while the kernel still
 * stamps the previous one, so a test that compares or waits for stamped
 * seconds reads this clock; -1 if it cannot be read. */
time_t hipc_test_kernel_seconds(void);

/* Non-zero when the program runs under valgrind, which preloads its own
 * library. Valgrind emulates some calls: shmat first asks IPC_STAT for the
 * segment's size and answers EINVAL when that is refused, where the
 * kernel says EACCES. */
int hipc_test_under_valgrind(void);

/* Non-zero when /proc/PID/syscall shows other syscall numbers than this
 * program uses: under qemu-user the kernel sees qemu's host syscalls, so a
 * test cannot tell from /proc which call of ours a process is blocked in. */
int hipc_test_syscall_numbers_are_foreign(void);
#define HIPC_TEST_FOREIGN_SYSCALL_REASON                                       \
    "/proc/PID/syscall shows the emulator's host syscall numbers "             \
    "(qemu-user), so a blocked call of this program cannot be recognised"

/* Non-zero once process or thread `pid` sleeps in syscall `nr` (as
 * /proc/PID/syscall shows it), 0 when it does not within about five
 * seconds. Lets a test act on a peer that is really asleep rather than
 * hope it is; check hipc_test_syscall_numbers_are_foreign() first. */
int hipc_test_wait_blocked_in(pid_t pid, long nr);

/* The whole program of a test of child processes: under qemu-user (the
 * cross stage) the child's execve of the target's helper program fails
 * with ENOEXEC (the kernel runs a foreign binary only through binfmt_misc,
 * which a container does not have: checked by hand with an armhf program
 * that execs itself), so it reports one skipped test there; natively
 * (every other stage) it runs `tests`. */
#define HIPC_TEST_MAIN_NATIVE_ONLY(tests)                                      \
    static void children_are_not_tested_under_qemu_user(void **state)          \
    {                                                                          \
        (void)state;                                                           \
        skip();                                                                \
    }                                                                          \
    static const struct CMUnitTest emulated_[] = {                             \
        cmocka_unit_test(children_are_not_tested_under_qemu_user)};            \
    int main(void)                                                             \
    {                                                                          \
        if (hipc_test_syscall_numbers_are_foreign())                           \
            return hipc_test_run_group(__FILE__, emulated_, 1);                \
        return hipc_test_run_group(__FILE__, (tests),                          \
                                   sizeof(tests) / sizeof((tests)[0]));        \
    }

/* The whole program of a test that only means something in the
 * fault-injection build: elsewhere it reports one skipped test. */
#define HIPC_TEST_MAIN_FAULT_BUILD_ONLY()                                      \
    static void fault_driver_needs_the_fault_build(void **state)               \
    {                                                                          \
        (void)state;                                                           \
        skip();                                                                \
    }                                                                          \
    static const struct CMUnitTest tests[] = {                                 \
        cmocka_unit_test(fault_driver_needs_the_fault_build),                  \
    };                                                                         \
    HIPC_TEST_MAIN(tests)

/* ---- the simulated kernel (HIPC_FAULT_SIM=1) --------------------------- */

/* Non-zero while a simulated world runs (a fault build run with
 * HIPC_FAULT_SIM=1): hipc's calls are then answered from this process's
 * memory (include/hipc/testing.h). The segment and descriptor counts
 * above then include the world's, so the leak checks hold there too. */
int hipc_test_in_sim(void);

/* Skips the running test under a simulated world, saying what it needs
 * that the world cannot give: a second process, a kernel object hipc
 * does not simulate (sockets, epoll, timers, FIFOs, packet-mode pipes),
 * several threads, another process's /proc, or a call of the test's own
 * on hipc's objects (which would reach the real kernel, where they do not
 * exist). Call it before acquiring anything. Everything else in the suite
 * runs against the world unchanged. */
#define hipc_test_needs_kernel(why)                                            \
    do {                                                                       \
        if (hipc_test_in_sim())                                                \
            hipc_test_skip("needs the real kernel: " why);                     \
    } while (0)

/* Declares, at file scope, that nothing in this test program can run in
 * a simulated world (`why` as above): there its group reports one skipped
 * test saying why, whichever HIPC_TEST_MAIN runs it. */
#define HIPC_TEST_PROGRAM_NEEDS_KERNEL(why)                                    \
    __attribute__((constructor)) static void program_needs_kernel_(void)       \
    {                                                                          \
        hipc_test_program_needs_kernel("needs the real kernel: " why);         \
    }
void hipc_test_program_needs_kernel(const char *why);

/* Non-zero when the fault build shortens pipe transfers
 * (HIPC_FAULT_MODE=short...): assertions about how much one call moves
 * hold only without it. */
int hipc_test_transfers_may_be_short(void);
/* Skips the running test, saying `why`, under short transfers rather than
 * passing without having checked. Call it before acquiring anything. */
#define hipc_test_skip_if_short(why)                                           \
    do {                                                                       \
        if (hipc_test_transfers_may_be_short())                                \
            hipc_test_skip(why);                                               \
    } while (0)
/* A recognisable byte pattern, different per seed. */
void hipc_test_fill(unsigned char *buf, size_t len, unsigned seed);

/* ---- doorbells (hipc_*_get_fd) ----------------------------------------- */

/* Whether `fd` is readable within `ms` milliseconds (0: now). */
int hipc_test_readable(int fd, int ms);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t hipc_test_now_ns(void);

/* Readiness that a bell's timer set to run out at once gives (at first,
 * after HIPC_E_PEER_GONE) comes with the timer's interrupt, a moment
 * after the call: waited for (up to 10 s), not polled, as a loaded
 * machine delays the interrupt. */
#define hipc_test_timer_ready(fd) hipc_test_readable((fd), 10000)

/* Readiness a bell gives itself (at first, after HIPC_E_PEER_GONE): a
 * datagram queued before the call returned, so polled, not waited for -
 * late readiness fails the test. */
#define hipc_test_ready_now(fd) hipc_test_readable((fd), 0)

/* Whether a datagram is queued on the bell behind the epoll descriptor
 * `epfd` (found through /proc/self/fdinfo; not consumed): tells readiness
 * a bell gave itself from that of its timer. */
int hipc_test_bell_has_ring(int epfd);

/* Reads away every datagram queued on that bell and counts them. */
int hipc_test_bell_take_rings(int epfd);

/* Whether the fault build's HIPC_FAULT_MODE makes first reads fail with
 * EAGAIN: a bell's drain then stops early and leaves a ring behind
 * (spurious readiness, allowed). */
int hipc_test_drains_may_stop_early(void);

/* A descriptor armed after `since` is not readable now, unless its timer
 * (`slice_ns` at the shortest) could have run out: a machine this loaded
 * makes that readiness spurious, which is allowed, not a ring. An arming
 * keeps a timer already running out soon enough, so `since` is taken
 * before the test's first arming, not its last. */
void hipc_test_assert_quiet_since(int fd, int64_t since, int64_t slice_ns);

/* Lines of /proc/net/unix naming a hipc bell of this process (the name
 * starts with the maker's pid: tests run in parallel, and their bells are
 * listed in the same network namespace). */
int hipc_test_bells_in_proc(void);

#endif
