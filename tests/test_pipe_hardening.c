/* SPDX-License-Identifier: MIT */
/* Tests for the pipe holes of issue 11: a frame cut short by a full
 * non-blocking pipe is owed, never spliced; packet-mode frames are read
 * whole; a copied handle acts on nothing; lengths above SSIZE_MAX move
 * nothing; running out of descriptors has its documented code. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "hipc/error.h"
#include "hipc/frame.h"
#include "hipc/pipe.h"
#include "support.h"

/* Milliseconds as the nanoseconds every timeout takes. */
#define MS(ms) ((int64_t)(ms)*1000000)

/* recv_frame returns the payload length; the checks below look at the
 * code and the length apart, so the length goes to *len (0 on failure). */
static int recv_len(hipc_pipe *p, void *buf, size_t cap, size_t max,
                    int64_t timeout_ns, size_t *len)
{
    int rc = hipc_pipe_recv_frame(p, buf, cap, max, timeout_ns);
    *len = rc > 0 ? (size_t)rc : 0;
    return rc < 0 ? rc : HIPC_OK;
}

static size_t pending_of(hipc_pipe *p)
{
    size_t n = 0;
    assert_int_equal(hipc_pipe_get_pending(p, &n), HIPC_OK);
    return n;
}

/* ---- A frame owed ---------------------------------------------------------- */

#define BIG 20000u
static unsigned char big[BIG], other[100], got[BIG];

/* 16 KiB of pipe, a 20 KB frame: the send stops with part of it out. */
static void begin_big_frame(hipc_pipe *p, size_t *owed)
{
    hipc_test_fill(big, sizeof big, 1);
    hipc_test_fill(other, sizeof other, 2);
    assert_int_equal(hipc_pipe_create(p, HIPC_PIPE_NONBLOCK), HIPC_OK);
    assert_int_equal(hipc_pipe_set_capacity(p, 16384), 16384);
    assert_int_equal(hipc_pipe_send_frame(p, big, BIG, BIG, 0), HIPC_E_AGAIN);
    assert_int_equal(hipc_pipe_get_frame_owed(p, owed), HIPC_OK);
    assert_true(*owed > 0 && *owed < BIG);
    assert_int_equal(pending_of(p), HIPC_FRAME_HEADER_BYTES + BIG - *owed);
}

static void a_send_cut_short_owes_the_rest_and_splices_nothing(void **state)
{
    (void)state;
    hipc_pipe p;
    size_t owed = 0, again = 0, len = 0, done = 9;
    begin_big_frame(&p, &owed);
    size_t before = pending_of(&p);
    /* Another frame, another length, plain writes: refused, nothing out. */
    assert_int_equal(hipc_pipe_send_frame(&p, other, sizeof other, BIG, 0),
                     HIPC_E_BAD_STATE);
    assert_int_equal(hipc_pipe_send_frame(&p, big, BIG - 1, BIG, 0),
                     HIPC_E_BAD_STATE);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, &done, 0),
                     HIPC_E_BAD_STATE);
    assert_int_equal(done, 0);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, 0),
                     HIPC_E_BAD_STATE);
    assert_int_equal(pending_of(&p), before);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, &again), HIPC_OK);
    assert_int_equal(again, owed);
    /* The reader takes what is there; the same frame then goes on. */
    assert_int_equal(recv_len(&p, got, sizeof got, BIG, 0, &len), HIPC_E_AGAIN);
    assert_int_equal(hipc_pipe_send_frame(&p, big, BIG, BIG, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, &again), HIPC_OK);
    assert_int_equal(again, 0);
    assert_int_equal(recv_len(&p, got, sizeof got, BIG, 0, &len), HIPC_OK);
    assert_int_equal(len, BIG);
    assert_memory_equal(got, big, BIG);
    /* And the stream is in step for the next frame. */
    assert_int_equal(hipc_pipe_send_frame(&p, other, sizeof other, BIG, 0),
                     HIPC_OK);
    assert_int_equal(recv_len(&p, got, sizeof got, BIG, 0, &len), HIPC_OK);
    assert_int_equal(len, sizeof other);
    assert_memory_equal(got, other, sizeof other);
    assert_int_equal(hipc_pipe_write_all(&p, "x", 1, NULL, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Closing the write end gives the frame up: the reader sees it cut. */
static void closing_the_write_end_gives_an_owed_frame_up(void **state)
{
    (void)state;
    hipc_pipe p;
    size_t owed = 0, len = 0;
    begin_big_frame(&p, &owed);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(recv_len(&p, got, sizeof got, BIG, 0, &len),
                     HIPC_E_TRUNCATED);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void frame_owed_checks_its_arguments(void **state)
{
    (void)state;
    hipc_pipe p;
    size_t n = 7;
    assert_int_equal(hipc_pipe_get_frame_owed(NULL, &n), HIPC_E_NULL);
    memset(&p, 0, sizeof p);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, &n), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, NULL), HIPC_E_NULL);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, &n), HIPC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    assert_int_equal(hipc_pipe_get_frame_owed(&p, &n), HIPC_E_STALE_HANDLE);
}

/* ---- Packet mode ----------------------------------------------------------- */

static int create_direct(hipc_pipe *p, unsigned flags)
{
    int rc = hipc_pipe_create(p, HIPC_PIPE_DIRECT | flags);
    if (rc == HIPC_E_UNSUPPORTED)
        hipc_test_skip("this kernel has no packet-mode pipes");
    assert_int_equal(rc, HIPC_OK);
    return hipc_pipe_get_fd(p, HIPC_PIPE_WRITE_END);
}

static void expect_frame(hipc_pipe *p, const unsigned char *want, size_t n)
{
    static unsigned char buf[16384];
    size_t len = 0;
    assert_int_equal(recv_len(p, buf, sizeof buf, sizeof buf, HIPC_FOREVER,
                              &len),
                     HIPC_OK);
    assert_int_equal(len, n);
    assert_memory_equal(buf, want, n);
}

/* Sends the frames of `sizes` in packet mode and reads them back whole. */
static void frames_arrive_whole_in_packets(const size_t *sizes, size_t count)
{
    hipc_pipe p;
    static unsigned char pay[10000];
    hipc_test_fill(pay, sizeof pay, 3);
    create_direct(&p, 0);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(hipc_pipe_send_frame(&p, pay, sizes[i], 16384,
                                              HIPC_FOREVER),
                         HIPC_OK);
    for (size_t i = 0; i < count; i++)
        expect_frame(&p, pay, sizes[i]);
    assert_int_equal(pending_of(&p), 0);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    size_t len = 0;
    assert_int_equal(recv_len(&p, pay, sizeof pay, 16, HIPC_FOREVER, &len),
                     HIPC_E_EOF);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* Empty, small, and exactly one PIPE_BUF with the header: one packet each. */
static void packet_mode_frames_of_one_packet_arrive_whole(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 5, PIPE_BUF - HIPC_FRAME_HEADER_BYTES};
    frames_arrive_whole_in_packets(sizes, 3);
}

/* One byte more than PIPE_BUF (two packets) and several pages, between
 * small ones. */
static void packet_mode_frames_of_several_packets_arrive_whole(void **state)
{
    (void)state;
    hipc_test_skip_if_short("short transfers make every byte a packet "
                            "of its own, more than a pipe holds "
                            "without a reader");
    const size_t sizes[] = {5, PIPE_BUF - HIPC_FRAME_HEADER_BYTES + 1, 10000,
                            3};
    frames_arrive_whole_in_packets(sizes, 4);
}

/* Raw packets that do not match their headers: each is an error, and the
 * frame after them still arrives. */
static void packets_that_do_not_match_their_header_are_bad_frames(void **state)
{
    (void)state;
    hipc_pipe p;
    unsigned char wire[256], pay[100], buf[128];
    size_t len = 0, n = 0;
    int wfd = create_direct(&p, HIPC_PIPE_NONBLOCK);
    /* The bytes written past each frame are defined ones. */
    memset(wire, 0xee, sizeof wire);
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "hello", 5, 16, &n),
                     HIPC_OK);
    /* Three bytes past the frame, in the same packet. */
    assert_int_equal(write(wfd, wire, n + 3), (ssize_t)(n + 3));
    assert_int_equal(recv_len(&p, buf, 16, 16, 0, &len), HIPC_E_BAD_FRAME);
    /* A frame of the caller's maximum with more behind it: only the probe
     * byte sees the rest. */
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, "0123456789abcdef",
                                       16, 16, &n),
                     HIPC_OK);
    assert_int_equal(write(wfd, wire, n + 10), (ssize_t)(n + 10));
    assert_int_equal(recv_len(&p, buf, 16, 16, 0, &len), HIPC_E_BAD_FRAME);
    /* A small frame split in two packets; the second, read as a frame of
     * its own, has no header. */
    hipc_test_fill(pay, sizeof pay, 0);
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, pay, sizeof pay,
                                       sizeof buf, &n),
                     HIPC_OK);
    assert_int_equal(write(wfd, wire, 10), 10);
    assert_int_equal(write(wfd, wire + 10, n - 10), (ssize_t)(n - 10));
    assert_int_equal(recv_len(&p, buf, sizeof buf, sizeof buf, 0, &len),
                     HIPC_E_BAD_FRAME);
    assert_int_equal(pending_of(&p), n - 10);
    assert_int_equal(recv_len(&p, buf, sizeof buf, sizeof buf, 0, &len),
                     HIPC_E_BAD_FRAME);
    /* Nothing was taken for a frame; a good one arrives whole. */
    assert_int_equal(len, 0);
    assert_int_equal(pending_of(&p), 0);
    assert_int_equal(hipc_pipe_send_frame(&p, "hello", 5, 16, 0), HIPC_OK);
    expect_frame(&p, (const unsigned char *)"hello", 5);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

/* A packet reader waits as its timeout says, on blocking and non-blocking
 * pipes alike: 0 never waits, a deadline passes, and a frame whose packets
 * come between calls is completed where it stopped. */
static void packet_reader_waits_as_its_timeout_says(void **state)
{
    (void)state;
    static unsigned char wire[HIPC_FRAME_HEADER_BYTES + 6000], pay[6000];
    hipc_test_fill(pay, sizeof pay, 5);
    const unsigned modes[] = {0, HIPC_PIPE_NONBLOCK};
    for (size_t m = 0; m < 2; m++) {
        hipc_pipe p;
        size_t n = 0;
        int wfd = create_direct(&p, modes[m]);
        assert_int_equal(hipc_pipe_recv_frame(&p, got, sizeof pay, sizeof pay,
                                              0),
                         HIPC_E_AGAIN);
        assert_int_equal(hipc_pipe_recv_frame(&p, got, sizeof pay, sizeof pay,
                                              2000000),
                         HIPC_E_TIMEDOUT);
        assert_int_equal(hipc_frame_encode(wire, sizeof wire, pay, sizeof pay,
                                           sizeof pay, &n),
                         HIPC_OK);
        assert_int_equal(write(wfd, wire, 4096), 4096);
        assert_int_equal(hipc_pipe_recv_frame(&p, got, sizeof pay, sizeof pay,
                                              2000000),
                         HIPC_E_TIMEDOUT);
        assert_int_equal(write(wfd, wire + 4096, n - 4096),
                         (ssize_t)(n - 4096));
        assert_int_equal(hipc_pipe_recv_frame(&p, got, sizeof pay, sizeof pay,
                                              HIPC_FOREVER),
                         (int)sizeof pay);
        assert_memory_equal(got, pay, sizeof pay);
        assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
    }
}

/* A non-blocking packet reader resumes a large frame whose packets come
 * one by one, header split across the first two. */
static void packet_reader_resumes_a_frame_packet_by_packet(void **state)
{
    (void)state;
    hipc_pipe p;
    static unsigned char wire[HIPC_FRAME_HEADER_BYTES + 6000], buf[6000];
    size_t n = 0, len = 0;
    hipc_test_fill(buf, sizeof buf, 4);
    int wfd = create_direct(&p, HIPC_PIPE_NONBLOCK);
    assert_int_equal(hipc_frame_encode(wire, sizeof wire, buf, sizeof buf,
                                       sizeof buf, &n),
                     HIPC_OK);
    const size_t cuts[] = {3, 4000, n};
    size_t sent = 0;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(write(wfd, wire + sent, cuts[i] - sent),
                         (ssize_t)(cuts[i] - sent));
        sent = cuts[i];
        int want = sent < n ? HIPC_E_AGAIN : HIPC_OK;
        assert_int_equal(recv_len(&p, got, sizeof buf, sizeof buf, 0, &len),
                         want);
    }
    assert_int_equal(len, sizeof buf);
    assert_memory_equal(got, buf, sizeof buf);
    /* Cut again, then the writer goes: the frame is truncated. */
    assert_int_equal(write(wfd, wire, 100), 100);
    assert_int_equal(recv_len(&p, got, sizeof buf, sizeof buf, 0, &len),
                     HIPC_E_AGAIN);
    assert_int_equal(hipc_pipe_close_end(&p, HIPC_PIPE_WRITE_END), HIPC_OK);
    assert_int_equal(recv_len(&p, got, sizeof buf, sizeof buf, 0, &len),
                     HIPC_E_TRUNCATED);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

static void a_read_end_adopted_as_direct_reads_packets(void **state)
{
    (void)state;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_DIRECT) != 0)
        hipc_test_skip("this kernel has no packet-mode pipes");
    hipc_pipe r, w;
    /* The write end's own O_DIRECT decides there: the flag is refused. */
    assert_int_equal(hipc_pipe_adopt(&w, fds[1], HIPC_PIPE_WRITE_END,
                                     HIPC_PIPE_DIRECT),
                     HIPC_E_BAD_FLAGS);
    assert_int_equal(hipc_pipe_adopt(&w, fds[1], HIPC_PIPE_WRITE_END, 0),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_adopt(&r, fds[0], HIPC_PIPE_READ_END,
                                     HIPC_PIPE_DIRECT),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&w, "one", 3, 16, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_send_frame(&w, "second", 6, 16, HIPC_FOREVER),
                     HIPC_OK);
    expect_frame(&r, (const unsigned char *)"one", 3);
    expect_frame(&r, (const unsigned char *)"second", 6);
    assert_int_equal(hipc_pipe_close(&w), HIPC_OK);
    assert_int_equal(hipc_pipe_close(&r), HIPC_OK);
}

/* ---- Copies ------------------------------------------------------------------ */

/* Every call that takes a handle, on a copy: each is BAD_HANDLE. */
static void assert_copy_is_refused(hipc_pipe *c)
{
    char buf[4];
    size_t n = 0;
    assert_int_equal(hipc_pipe_write_all(c, "x", 1, &n, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_read_exact(c, buf, 1, &n, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_read_some(c, buf, 1, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_write_all(c, "x", 1, &n, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_read_exact(c, buf, 1, &n, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_read_some(c, buf, 1, 0), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_get_capacity(c), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_set_capacity(c, 4096), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_get_pending(c, &n), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_send_frame(c, "x", 1, 0, HIPC_FOREVER),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(recv_len(c, buf, sizeof buf, 4, HIPC_FOREVER, &n),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_get_frame_owed(c, &n), HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_get_fd(c, HIPC_PIPE_READ_END),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_close_end(c, HIPC_PIPE_READ_END),
                     HIPC_E_BAD_HANDLE);
    assert_int_equal(hipc_pipe_close(c), HIPC_E_BAD_HANDLE);
}

static int fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static void a_copied_handle_is_bad_handle_and_closes_nothing(void **state)
{
    (void)state;
    hipc_test_needs_kernel("the test's own syscalls on hipc's descriptors");
    hipc_pipe a, b;
    char c = 0;
    assert_int_equal(hipc_pipe_create(&a, 0), HIPC_OK);
    hipc_pipe copy = a;
    /* While the original is open, the copy acts on nothing. */
    assert_copy_is_refused(&copy);
    assert_true(fd_open(a.read_fd) && fd_open(a.write_fd));
    assert_int_equal(hipc_pipe_close(&a), HIPC_OK);
    /* The kernel hands the numbers out again: b holds them now. */
    assert_int_equal(hipc_pipe_create(&b, 0), HIPC_OK);
    assert_int_equal(b.read_fd, copy.read_fd);
    assert_int_equal(b.write_fd, copy.write_fd);
    assert_copy_is_refused(&copy);
    assert_true(fd_open(b.read_fd) && fd_open(b.write_fd));
    assert_int_equal(hipc_pipe_write_all(&b, "y", 1, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(hipc_pipe_read_exact(&b, &c, 1, NULL, HIPC_FOREVER),
                     HIPC_OK);
    assert_int_equal(c, 'y');
    assert_int_equal(hipc_pipe_close(&b), HIPC_OK);
}

static void an_adopted_handle_moved_by_memcpy_is_a_copy_too(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    hipc_pipe r, moved;
    assert_int_equal(hipc_pipe_adopt(&r, fds[0], HIPC_PIPE_READ_END, 0),
                     HIPC_OK);
    memcpy(&moved, &r, sizeof r);
    assert_int_equal(hipc_pipe_close(&moved), HIPC_E_BAD_HANDLE);
    assert_true(fd_open(fds[0]));
    assert_int_equal(hipc_pipe_close(&r), HIPC_OK);
    assert_int_equal(close(fds[1]), 0);
}

/* ---- Lengths ----------------------------------------------------------------- */

static const size_t huge[] = {(size_t)-EFAULT, (size_t)-EINTR,
                              (size_t)SSIZE_MAX + 1u, SIZE_MAX};

static void lengths_above_ssize_max_are_bad_size_and_move_nothing(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[8];
    assert_int_equal(hipc_pipe_create(&p, HIPC_PIPE_NONBLOCK), HIPC_OK);
    assert_int_equal(hipc_pipe_write_all(&p, "abc", 3, NULL, 0), HIPC_OK);
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        size_t len = huge[i], done = 99;
        assert_int_equal(hipc_pipe_write_all(&p, "x", len, &done, 0),
                         HIPC_E_BAD_SIZE);
        assert_int_equal(done, 0);
        assert_int_equal(hipc_pipe_read_exact(&p, buf, len, &done, 0),
                         HIPC_E_BAD_SIZE);
        assert_int_equal(done, 0);
        assert_int_equal(hipc_pipe_write_all(&p, "x", len, &done, 0),
                         HIPC_E_BAD_SIZE);
        assert_int_equal(hipc_pipe_read_exact(&p, buf, len, &done, 0),
                         HIPC_E_BAD_SIZE);
        assert_int_equal(done, 0);
        assert_int_equal(hipc_pipe_read_some(&p, buf, len, 0), HIPC_E_BAD_SIZE);
        assert_int_equal(hipc_pipe_read_some(&p, buf, len, 0), HIPC_E_BAD_SIZE);
        /* A frame that long is beyond any maximum. */
        assert_int_equal(hipc_pipe_send_frame(&p, "x", len, 0, 0),
                         HIPC_E_MSG_TOO_BIG);
        assert_int_equal(hipc_pipe_set_capacity(&p, len), HIPC_E_TOO_BIG);
        assert_int_equal(pending_of(&p), 3);
    }
    assert_int_equal(hipc_pipe_read_exact(&p, buf, 3, NULL, 0), HIPC_OK);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}

#ifdef HIPC_FAULT_INJECTION
/* Refused before the kernel is asked: no read or write reached the seam. */
static void lengths_above_ssize_max_reach_no_syscall(void **state)
{
    (void)state;
    hipc_pipe p;
    char buf[8];
    assert_int_equal(hipc_pipe_create(&p, 0), HIPC_OK);
    hipc_fault_reset();
    assert_int_equal(hipc_pipe_write_all(&p, "x", (size_t)-EFAULT, NULL,
                                         HIPC_FOREVER),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_read_exact(&p, buf, (size_t)-EFAULT, NULL,
                                          HIPC_FOREVER),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_pipe_read_some(&p, buf, SIZE_MAX, HIPC_FOREVER),
                     HIPC_E_BAD_SIZE);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_READ), 0);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_WRITE), 0);
    assert_int_equal(hipc_fault_calls(HIPC_SYS_SIGMASK), 0);
    assert_int_equal(hipc_pipe_close(&p), HIPC_OK);
}
#endif

/* ---- Codes named in pipe.h --------------------------------------------------- */

/* Out of descriptors is HIPC_E_LIMIT with EMFILE kept, from a real
 * kernel: a child lowers its own descriptor limit. */
static void running_out_of_descriptors_is_limit(void **state)
{
    (void)state;
    hipc_test_needs_kernel(
        "the process's RLIMIT_NOFILE (a world has its own table)");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Only the soft limit: valgrind refuses to move the hard one. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        rl.rlim_cur = (rlim_t)(hipc_test_fd_count() + 4);
        hipc_pipe p[8];
        int rc = HIPC_OK, i = 0;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(3);
        while (i < 8 && (rc = hipc_pipe_create(&p[i], 0)) == HIPC_OK)
            i++;
        _exit(i < 8 && rc == HIPC_E_LIMIT && p[i].sys_errno == EMFILE ? 0 : 1);
    }
    assert_int_equal(hipc_test_wait_child(pid, 10), 0);
}

/* The scanner for SigPnd, fed in every split of a status file. */
static void sigpnd_lines_are_scanned_across_reads(void **state)
{
    (void)state;
    static const char text[] = "Name:\ttest\nShdPnd:\t0000000000001000\n"
                               "SigPnd:\t0000000000001000\nSigBlk:\t0\n";
    for (size_t cut = 0; cut <= sizeof text - 1; cut++) {
        struct hipc__sigpnd s = {0};
        hipc__pipe_scan_sigpnd(&s, text, cut);
        hipc__pipe_scan_sigpnd(&s, text + cut, sizeof text - 1 - cut);
        assert_int_equal(s.state, HIPC__SIGPND_DONE);
        assert_true(s.mask == 0x1000u);
    }
    /* Not hex, empty, and 33 digits (more than 128 signals). */
    static const char long_value[] =
        "x\nSigPnd:\t0123456789abcdef0123456789abcdef0\n";
    static const char *const bad[] = {"x\nSigPnd:\t12g4\n", "x\nSigPnd:\t\n",
                                      long_value};
    for (size_t i = 0; i < 3; i++) {
        struct hipc__sigpnd s = {0};
        hipc__pipe_scan_sigpnd(&s, bad[i], strlen(bad[i]));
        assert_int_equal(s.state, HIPC__SIGPND_BAD);
    }
    struct hipc__sigpnd s = {0};
    hipc__pipe_scan_sigpnd(&s, "SigPnd:\t1\nShdPnd:\t1\n", 20);
    assert_int_equal(s.state, 0); /* never at the start of a line */
}

#define T(f) HIPC_PIPE_TEST(f) /* in its group's SIGPIPE guard */

static const struct CMUnitTest tests[] = {
    T(a_send_cut_short_owes_the_rest_and_splices_nothing),
    T(closing_the_write_end_gives_an_owed_frame_up),
    T(frame_owed_checks_its_arguments),
    T(packet_mode_frames_of_one_packet_arrive_whole),
    T(packet_mode_frames_of_several_packets_arrive_whole),
    T(packets_that_do_not_match_their_header_are_bad_frames),
    T(packet_reader_resumes_a_frame_packet_by_packet),
    T(packet_reader_waits_as_its_timeout_says),
    T(a_read_end_adopted_as_direct_reads_packets),
    T(a_copied_handle_is_bad_handle_and_closes_nothing),
    T(an_adopted_handle_moved_by_memcpy_is_a_copy_too),
    T(lengths_above_ssize_max_are_bad_size_and_move_nothing),
#ifdef HIPC_FAULT_INJECTION
    T(lengths_above_ssize_max_reach_no_syscall),
#endif
    T(running_out_of_descriptors_is_limit),
    T(sigpnd_lines_are_scanned_across_reads),
};

HIPC_TEST_MAIN_BOTH_GUARDS(tests)
