/* SPDX-License-Identifier: MIT */
/* hipc — the simulated kernel (test builds only; see lib/sim.h and
 * hipc_testing(3)).
 *
 * One world per process: System V segments in a static arena, pipes whose
 * buffers come from the same arena, and descriptors in a fixed table.
 * Nothing here calls the kernel except the wall clock (a vDSO read, for
 * the times IPC_STAT reports): who the caller is (pid, euid, egid: the
 * credentials the kernel would check) is taken through the seam at begin
 * and fixed for the world, as are the /proc/self files that say who this
 * process is (memos), so identifying ourselves costs no syscall either. The
 * numbers follow ipc/shm.c and fs/pipe.c: ids are a slot index plus a
 * sequence number times 32768, sizes round up to pages, permissions are
 * ipcperms() with euid 0 standing for CAP_IPC_OWNER and CAP_SYS_ADMIN.
 */
#include "sim.h"

#ifdef HIPC_FAULT_INJECTION

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"

#ifndef HIPC_SIM_ARENA_BYTES
#define HIPC_SIM_ARENA_BYTES (32u * 1024u * 1024u)
#endif
#define SIM_SEGS HIPC__SIM_SEGS
#define SIM_ATTACH 512    /* attachments at once */
#define SIM_FDS 256       /* descriptors at once */
#define SIM_PIPES 128     /* pipes at once */
#define SIM_ID_SPAN 32768 /* ipc/util.h: IPCMNI, the index part of an id */
#define SIM_PIPE_MAX (1024u * 1024u) /* /proc/sys/fs/pipe-max-size */
#define SIM_PIPE_DEFAULT 65536u

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif

int hipc__sim_on;
void (*hipc__sim_real_fd_hook)(void);

void hipc__sim_real_fd_ahead(void)
{
    if (hipc__sim_on && hipc__sim_real_fd_hook != NULL)
        hipc__sim_real_fd_hook();
}

/* Segment memory and pipe buffers; aligned for the largest page size
 * Linux uses, so an attachment is page-aligned as the kernel's are. */
static unsigned char arena[HIPC_SIM_ARENA_BYTES]
    __attribute__((aligned(65536)));

/* A run of arena pages: [first, first + pages). pages 0: none. */
struct run {
    size_t first, pages;
};

struct seg {
    int used, removed;
    unsigned seq; /* bumped each time the slot is reused, as the kernel does */
    struct shmid_ds ds;
    struct run mem;
};

struct attach {
    int seg; /* slot, -1: free */
    void *addr;
};

enum fd_kind { FD_FREE, FD_PIPE_R, FD_PIPE_W, FD_TEXT };

struct fd {
    enum fd_kind kind;
    int pipe;         /* FD_PIPE_*: index in pipes */
    int nonblock;     /* O_NONBLOCK */
    int cloexec;      /* FD_CLOEXEC */
    char own[24];     /* a sysctl's text */
    const char *text; /* FD_TEXT: own or a memo's */
    size_t text_len, text_off;
};

struct pipe {
    int used;
    int readers, writers;
    struct run mem;
    size_t cap, head, count; /* ring: bytes at head, count of them */
};

static struct world {
    struct hipc__sim_limits lim;
    size_t page, arena_pages, pages_used, segs_used;
    /* One past the highest slot of each table used in this world: the
     * walks stop there (a fuzz input uses a handful of slots). */
    int seg_top, at_top, fd_top, pipe_top;
    pid_t pid;
    uid_t euid;
    gid_t egid;
    struct seg segs[SIM_SEGS];
    struct attach at[SIM_ATTACH];
    struct fd fds[SIM_FDS];
    struct pipe pipes[SIM_PIPES];
} w;

/* ---- the arena ---------------------------------------------------------- */

static int overlaps(const struct run *r, size_t first, size_t pages)
{
    return r->pages != 0 && first < r->first + r->pages &&
           r->first < first + pages;
}

/* The end of a live run overlapping [first, first + pages), or 0. */
static size_t collision(size_t first, size_t pages)
{
    for (int i = 0; i < w.seg_top; i++)
        if (w.segs[i].used && overlaps(&w.segs[i].mem, first, pages))
            return w.segs[i].mem.first + w.segs[i].mem.pages;
    for (int i = 0; i < w.pipe_top; i++)
        if (w.pipes[i].used && overlaps(&w.pipes[i].mem, first, pages))
            return w.pipes[i].mem.first + w.pipes[i].mem.pages;
    return 0;
}

/* Arena pages from here on were never handed out in this process, so
 * they are still zero (static storage): a run is cleared only below it.
 * Kept across worlds, as the arena is. */
static size_t fresh_from;

/* First fit; zeroed pages (`zero`), as the kernel hands out where they
 * can be seen: a pipe's buffer cannot be read before it is written.
 * -ENOMEM: no room. */
static int arena_get(size_t pages, int zero, struct run *out)
{
    size_t first = 0;
    while (first + pages <= w.arena_pages) {
        size_t end = collision(first, pages);
        if (end == 0) {
            size_t used = first < fresh_from && zero ? fresh_from - first : 0;
            used = used < pages ? used : pages;
            memset(arena + first * w.page, 0, used * w.page);
            fresh_from =
                first + pages > fresh_from ? first + pages : fresh_from;
            out->first = first;
            out->pages = pages;
            w.pages_used += pages;
            return 0;
        }
        first = end;
    }
    return -ENOMEM;
}

static void arena_put(struct run *r)
{
    w.pages_used -= r->pages;
    r->pages = 0;
}

static unsigned char *run_addr(const struct run *r)
{
    return arena + r->first * w.page;
}

/* ---- the world ---------------------------------------------------------- */

/* hipc__self_identify's and the liveness checks' reads of this process:
 * a simulated world has one process, whose pid, namespaces and start
 * time do not change while it runs (the state letter and times in its
 * stat line are those of the first read). */
#define MEMOS 6
static const char *const memo_paths[MEMOS] = {"/proc/self/stat",
                                              "/proc/self/timens_offsets",
                                              "/proc/self/ns/pid",
                                              "/proc/self/ns/time",
                                              "/proc/self/ns/time_for_children",
                                              "/proc/self"};
static const enum hipc__sim_memo_kind memo_kinds[MEMOS] = {
    HIPC__SIM_MEMO_TEXT, HIPC__SIM_MEMO_TEXT, HIPC__SIM_MEMO_STAT,
    HIPC__SIM_MEMO_STAT, HIPC__SIM_MEMO_STAT, HIPC__SIM_MEMO_LINK};
static struct hipc__sim_memo memos[MEMOS];

int hipc__sim_begin(const struct hipc__sim_limits *lim)
{
    if (hipc__sim_on)
        return -EBUSY;
    size_t page = hipc__sys_page_size();
    size_t pages = sizeof arena / page;
    struct hipc__sim_limits l = {pages * page, pages, SIM_SEGS};
    if (lim != NULL && lim->shmmax != 0)
        l.shmmax = lim->shmmax;
    if (lim != NULL && lim->shmall != 0)
        l.shmall = lim->shmall;
    if (lim != NULL && lim->shmmni != 0)
        l.shmmni = lim->shmmni;
    if (l.shmmni > SIM_SEGS || l.shmall > pages || l.shmmax > pages * page)
        return -EINVAL;
    memset(&w, 0, sizeof w);
    w.lim = l;
    w.page = page;
    w.arena_pages = pages;
    for (int i = 0; i < SIM_ATTACH; i++)
        w.at[i].seg = -1;
    for (int i = 0; i < MEMOS; i++)
        memos[i].have = 0;
    hipc__sim_reidentify(); /* asks the kernel: the world is not on yet */
    hipc__sim_on = 1;
    return 0;
}

void hipc__sim_reidentify(void)
{
    int on = hipc__sim_on;
    hipc__sim_on = 0;
    w.pid = hipc__sys_getpid();
    w.euid = hipc__sys_geteuid();
    w.egid = hipc__sys_getegid();
    hipc__sim_on = on;
}

/* Set in a child forked inside a world: it is another process, which
 * may drop its privileges before it calls hipc (a permission test). */
static volatile int forked;

static void after_fork_in_child(void)
{
    forked = 1;
}

/* Who the world says we are: taken again, with the memos of /proc/self,
 * at the first look after a fork. */
static void identify(void)
{
    if (!forked)
        return;
    forked = 0;
    for (int i = 0; i < MEMOS; i++)
        memos[i].have = 0;
    hipc__sim_reidentify();
}

pid_t hipc__sim_pid(void)
{
    identify();
    return w.pid;
}

uid_t hipc__sim_euid(void)
{
    identify();
    return w.euid;
}

gid_t hipc__sim_egid(void)
{
    identify();
    return w.egid;
}

struct hipc__sim_memo *hipc__sim_memo(const char *path,
                                      enum hipc__sim_memo_kind kind)
{
    identify();
    for (int i = 0; i < MEMOS; i++)
        if (memo_kinds[i] == kind && strcmp(path, memo_paths[i]) == 0)
            return &memos[i];
    return NULL;
}

int hipc__sim_end(void)
{
    if (!hipc__sim_on)
        return -ENOENT;
    hipc__sim_on = 0;
    memset(&w, 0, sizeof w);
    return 0;
}

size_t hipc__sim_arena_size(void)
{
    return sizeof arena;
}

void hipc__sim_usage(size_t *segs, size_t *attached, size_t *fds, size_t *pages)
{
    size_t a = 0, f = 0;
    for (int i = 0; i < w.at_top; i++)
        a += w.at[i].seg >= 0;
    for (int i = 0; i < w.fd_top; i++)
        f += w.fds[i].kind != FD_FREE;
    *segs = w.segs_used;
    *attached = hipc__sim_on ? a : 0;
    *fds = f;
    *pages = w.pages_used;
}

int hipc__sim_mem(const void *addr)
{
    const unsigned char *a = addr;
    return a >= arena && a < arena + sizeof arena;
}

/* HIPC_FAULT_SIM=1 runs the whole program in a simulated world (default
 * limits), read once before main like HIPC_FAULT_MODE; 0 or unset: the
 * real kernel. Anything else ends the program at start with status 125. */
__attribute__((constructor)) static void sim_from_environment(void)
{
    (void)pthread_atfork(NULL, NULL, after_fork_in_child);
    const char *v = getenv("HIPC_FAULT_SIM");
    if (v == NULL || strcmp(v, "0") == 0 || strcmp(v, "") == 0)
        return;
    if (strcmp(v, "1") != 0) {
        fprintf(stderr, "HIPC_FAULT_SIM=%s: use 1 or 0\n", v);
        _exit(125);
    }
    (void)hipc__sim_begin(NULL);
}

/* ---- System V shared memory -------------------------------------------- */

static time_t now(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

/* ipc/util.c ipcperms(): the caller's class picks the mode's bits; euid 0
 * stands for CAP_IPC_OWNER. `want`: S_IRUGO/S_IWUGO/S_IXUGO bits. */
static int denied(const struct ipc_perm *p, int want)
{
    uid_t uid = hipc__sys_geteuid();
    unsigned granted = p->mode;
    unsigned req =
        ((unsigned)want >> 6 | (unsigned)want >> 3 | (unsigned)want) & 7u;
    if (uid == p->uid || uid == p->cuid)
        granted >>= 6;
    else if (hipc__sys_getegid() == p->gid || hipc__sys_getegid() == p->cgid)
        granted >>= 3;
    return (req & ~granted & 7u) != 0 && uid != 0;
}

/* The owner or creator (or euid 0, CAP_SYS_ADMIN) may set and remove. */
static int not_owner(const struct ipc_perm *p)
{
    uid_t uid = hipc__sys_geteuid();
    return uid != 0 && uid != p->uid && uid != p->cuid;
}

/* The slot an id names, or -1 (EINVAL): gone, or its slot reused. */
static int seg_of(int id)
{
    if (id < 0)
        return -1;
    int i = id % SIM_ID_SPAN;
    if (i >= SIM_SEGS || !w.segs[i].used ||
        w.segs[i].seq != (unsigned)(id / SIM_ID_SPAN))
        return -1;
    return i;
}

static int seg_id(int i)
{
    return (int)w.segs[i].seq * SIM_ID_SPAN + i;
}

static void seg_destroy(int i)
{
    arena_put(&w.segs[i].mem);
    w.segs[i].used = 0;
    w.segs[i].removed = 0;
    /* ipc/util.c: the sequence wraps before the id would overflow. */
    w.segs[i].seq = (w.segs[i].seq + 1) % (INT_MAX / SIM_ID_SPAN);
    w.segs_used--;
}

static size_t shm_tot(void)
{
    size_t t = 0;
    for (int i = 0; i < w.seg_top; i++)
        if (w.segs[i].used)
            t += w.segs[i].mem.pages;
    return t;
}

/* ipc/shm.c newseg(): size, SHMALL, SHMMNI, then memory. */
static int seg_new(key_t key, size_t size, int flags)
{
    if (flags & SHM_HUGETLB)
        return -ENOMEM; /* a kernel with no huge pages reserved */
    if (size < 1 || size > w.lim.shmmax)
        return -EINVAL;
    size_t pages = size / w.page + (size % w.page != 0);
    if (shm_tot() + pages > w.lim.shmall)
        return -ENOSPC;
    int slot = -1;
    for (int i = 0; i < (int)w.lim.shmmni && slot < 0; i++)
        if (!w.segs[i].used)
            slot = i;
    if (slot < 0)
        return -ENOSPC;
    struct seg *s = &w.segs[slot];
    int r = arena_get(pages, 1, &s->mem);
    if (r < 0)
        return r;
    unsigned seq = s->seq;
    memset(&s->ds, 0, sizeof s->ds);
    s->used = 1;
    w.seg_top = slot + 1 > w.seg_top ? slot + 1 : w.seg_top;
    s->ds.shm_perm.__key = key;
    s->ds.shm_perm.uid = s->ds.shm_perm.cuid = hipc__sys_geteuid();
    s->ds.shm_perm.gid = s->ds.shm_perm.cgid = hipc__sys_getegid();
    s->ds.shm_perm.mode = (unsigned short)(flags & 0777);
    s->ds.shm_perm.__seq = (unsigned short)seq;
    s->ds.shm_segsz = size;
    s->ds.shm_cpid = hipc__sys_getpid();
    s->ds.shm_ctime = now();
    w.segs_used++;
    return seg_id(slot);
}

int hipc__sim_shmget(key_t key, size_t size, int flags)
{
    if (key == IPC_PRIVATE)
        return seg_new(key, size, flags);
    for (int i = 0; i < w.seg_top; i++) {
        struct seg *s = &w.segs[i];
        if (!s->used || s->removed || s->ds.shm_perm.__key != key)
            continue;
        /* ipc/util.c ipcget_public(): EEXIST, then size, then access. */
        if ((flags & IPC_CREAT) && (flags & IPC_EXCL))
            return -EEXIST;
        if (s->ds.shm_segsz < size)
            return -EINVAL;
        return denied(&s->ds.shm_perm, flags & 0777) ? -EACCES : seg_id(i);
    }
    return (flags & IPC_CREAT) ? seg_new(key, size, flags) : -ENOENT;
}

int hipc__sim_shmat(int id, const void *want, int flags, void **addr)
{
    int i = seg_of(id);
    /* Only the kernel's choice of address: the arena holds one copy. */
    if (i < 0 || want != NULL)
        return -EINVAL;
    int need = (flags & SHM_RDONLY) ? 0444 : 0666;
    if (flags & SHM_EXEC)
        need |= 0111;
    if (denied(&w.segs[i].ds.shm_perm, need))
        return -EACCES;
    for (int a = 0; a < SIM_ATTACH; a++) {
        if (w.at[a].seg >= 0)
            continue;
        w.at[a].seg = i;
        w.at_top = a + 1 > w.at_top ? a + 1 : w.at_top;
        w.at[a].addr = run_addr(&w.segs[i].mem);
        w.segs[i].ds.shm_nattch++;
        w.segs[i].ds.shm_atime = now();
        w.segs[i].ds.shm_lpid = hipc__sys_getpid();
        *addr = w.at[a].addr;
        return 0;
    }
    return -EMFILE; /* the kernel's vm.max_map_count */
}

int hipc__sim_shmdt(const void *addr)
{
    for (int a = 0; a < w.at_top; a++) {
        if (w.at[a].seg < 0 || w.at[a].addr != addr)
            continue;
        struct seg *s = &w.segs[w.at[a].seg];
        w.at[a].seg = -1;
        s->ds.shm_nattch--;
        s->ds.shm_dtime = now();
        s->ds.shm_lpid = hipc__sys_getpid();
        if (s->removed && s->ds.shm_nattch == 0)
            seg_destroy((int)(s - w.segs));
        return 0;
    }
    return -EINVAL;
}

static int shm_info(int cmd, struct shmid_ds *ds)
{
    int max = -1;
    for (int i = 0; i < w.seg_top; i++)
        if (w.segs[i].used)
            max = i;
    if (cmd == IPC_INFO) {
        struct shminfo *in = (struct shminfo *)(void *)ds;
        memset(in, 0, sizeof *in);
        in->shmmax = (unsigned long)w.lim.shmmax;
        in->shmmin = 1;
        in->shmmni = (unsigned long)w.lim.shmmni;
        in->shmseg = (unsigned long)w.lim.shmmni;
        in->shmall = (unsigned long)w.lim.shmall;
    } else {
        struct shm_info *in = (struct shm_info *)(void *)ds;
        memset(in, 0, sizeof *in);
        in->used_ids = (int)w.segs_used;
        in->shm_tot = shm_tot();
        in->shm_rss = in->shm_tot;
    }
    return max < 0 ? 0 : max;
}

int hipc__sim_shmctl(int id, int cmd, struct shmid_ds *ds)
{
    if (cmd == IPC_INFO || cmd == SHM_INFO)
        return ds == NULL ? -EFAULT : shm_info(cmd, ds);
    int i = seg_of(id);
    if (i < 0)
        return -EINVAL;
    struct seg *s = &w.segs[i];
    struct ipc_perm *p = &s->ds.shm_perm;
    switch (cmd) {
    case IPC_STAT:
        if (ds == NULL)
            return -EFAULT;
        if (denied(p, 0444))
            return -EACCES;
        *ds = s->ds;
        ds->shm_perm.mode =
            (unsigned short)(p->mode | (s->removed ? SHM_DEST : 0));
        return 0;
    case IPC_SET:
        if (ds == NULL)
            return -EFAULT;
        if (not_owner(p))
            return -EPERM;
        p->uid = ds->shm_perm.uid;
        p->gid = ds->shm_perm.gid;
        p->mode = (unsigned short)(ds->shm_perm.mode & 0777);
        s->ds.shm_ctime = now();
        return 0;
    case IPC_RMID:
        if (not_owner(p))
            return -EPERM;
        /* ipc/shm.c do_shm_rmid(): gone now, or at the last detach; the
         * key is freed at once either way. */
        s->removed = 1;
        p->__key = IPC_PRIVATE;
        if (s->ds.shm_nattch == 0)
            seg_destroy(i);
        return 0;
    default:
        return -EINVAL;
    }
}

/* ---- descriptors ---------------------------------------------------------- */

static struct fd *fd_of(int fd)
{
    if (fd < HIPC__SIM_FD_BASE || fd >= HIPC__SIM_FD_BASE + SIM_FDS)
        return NULL;
    struct fd *f = &w.fds[fd - HIPC__SIM_FD_BASE];
    return f->kind == FD_FREE ? NULL : f;
}

/* The lowest free number, as the kernel gives, or -1. */
static int fd_new(enum fd_kind kind)
{
    for (int i = 0; i < SIM_FDS; i++) {
        if (w.fds[i].kind != FD_FREE)
            continue;
        memset(&w.fds[i], 0, sizeof w.fds[i]);
        w.fds[i].kind = kind;
        w.fd_top = i + 1 > w.fd_top ? i + 1 : w.fd_top;
        return HIPC__SIM_FD_BASE + i;
    }
    return -1;
}

/* The sysctl files hipc reads, answered from the world. */
static const char *const sysctls[4] = {"/proc/sys/kernel/shmmax",
                                       "/proc/sys/kernel/shmall",
                                       "/proc/sys/kernel/shmmni",
                                       "/proc/sys/fs/pipe-max-size"};

/* What the simulation cannot answer and the kernel must not: the
 * kernel's list of segments, and other processes (there are none in a
 * simulated world). This process's own files and the rest of /proc are
 * the kernel's. `rest` follows "/proc/". */
static int proc_refused(const char *rest)
{
    if (strncmp(rest, "sysvipc/", 8) == 0)
        return 1;
    long pid = 0;
    const char *p = rest;
    while (*p >= '0' && *p <= '9' && pid < INT_MAX)
        pid = pid * 10 + (*p++ - '0');
    return p != rest && (*p == '/' || *p == '\0') &&
           pid != (long)hipc__sys_getpid();
}

/* A text memo the caller filled, as a descriptor. */
static int memo_open(const struct hipc__sim_memo *m, int flags)
{
    if ((flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;
    int fd = fd_new(FD_TEXT);
    if (fd < 0)
        return -EMFILE;
    struct fd *f = fd_of(fd);
    f->text = m->text;
    f->text_len = m->len;
    f->cloexec = 1;
    return fd;
}

int hipc__sim_open(const char *path, int flags)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return 1;
    const struct hipc__sim_memo *m = hipc__sim_memo(path, HIPC__SIM_MEMO_TEXT);
    if (m != NULL && m->have)
        return memo_open(m, flags);
    const unsigned long long values[4] = {w.lim.shmmax, w.lim.shmall,
                                          w.lim.shmmni, SIM_PIPE_MAX};
    for (int i = 0; i < 4; i++) {
        if (strcmp(path, sysctls[i]) != 0)
            continue;
        if ((flags & O_ACCMODE) != O_RDONLY)
            return -EACCES;
        int fd = fd_new(FD_TEXT);
        if (fd < 0)
            return -EMFILE;
        struct fd *f = fd_of(fd);
        int n = snprintf(f->own, sizeof f->own, "%llu\n", values[i]);
        f->text = f->own;
        f->text_len = (size_t)n;
        f->cloexec = 1;
        return fd;
    }
    return proc_refused(path + 6) ? -ENOSYS : 1;
}

static void pipe_drop(struct pipe *p)
{
    if (p->readers == 0 && p->writers == 0) {
        arena_put(&p->mem);
        p->used = 0;
    }
}

int hipc__sim_close(int fd)
{
    struct fd *f = fd_of(fd);
    if (f == NULL)
        return -EBADF;
    if (f->kind == FD_PIPE_R || f->kind == FD_PIPE_W) {
        struct pipe *p = &w.pipes[f->pipe];
        if (f->kind == FD_PIPE_R)
            p->readers--;
        else
            p->writers--;
        pipe_drop(p);
    }
    f->kind = FD_FREE;
    return 0;
}

/* ---- pipes -------------------------------------------------------------- */

/* fs/pipe.c round_pipe_size(): whole pages, a power of two of them. */
static size_t pipe_round(size_t bytes)
{
    size_t pages = bytes / w.page + (bytes % w.page != 0);
    size_t p = 1;
    while (p < pages)
        p <<= 1;
    return p * w.page;
}

int hipc__sim_pipe2(int fds[2], int flags)
{
    if (flags & ~(O_NONBLOCK | O_CLOEXEC | O_DIRECT))
        return -EINVAL;
    if (flags & O_DIRECT)
        return -ENOSYS; /* packet mode is not simulated */
    int pi = -1;
    for (int i = 0; i < SIM_PIPES && pi < 0; i++)
        if (!w.pipes[i].used)
            pi = i;
    if (pi < 0)
        return -ENFILE;
    struct pipe *p = &w.pipes[pi];
    size_t cap = pipe_round(SIM_PIPE_DEFAULT);
    int r = arena_get(cap / w.page, 0, &p->mem);
    if (r < 0)
        return r;
    int rd = fd_new(FD_PIPE_R);
    int wr = rd < 0 ? -1 : fd_new(FD_PIPE_W);
    if (wr < 0) {
        if (rd >= 0)
            w.fds[rd - HIPC__SIM_FD_BASE].kind = FD_FREE;
        arena_put(&p->mem);
        return -EMFILE;
    }
    p->used = 1;
    w.pipe_top = pi + 1 > w.pipe_top ? pi + 1 : w.pipe_top;
    p->readers = p->writers = 1;
    p->cap = cap;
    p->head = p->count = 0;
    struct fd *ends[2] = {fd_of(rd), fd_of(wr)};
    for (int e = 0; e < 2; e++) {
        ends[e]->pipe = pi;
        ends[e]->nonblock = (flags & O_NONBLOCK) != 0;
        ends[e]->cloexec = (flags & O_CLOEXEC) != 0;
    }
    fds[0] = rd;
    fds[1] = wr;
    return 0;
}

static void ring_put(struct pipe *p, const unsigned char *src, size_t n)
{
    unsigned char *buf = run_addr(&p->mem);
    for (size_t k = 0; k < n;) {
        size_t at = (p->head + p->count) % p->cap;
        size_t chunk = p->cap - at < n - k ? p->cap - at : n - k;
        memcpy(buf + at, src + k, chunk);
        p->count += chunk;
        k += chunk;
    }
}

static void ring_get(struct pipe *p, unsigned char *dst, size_t n)
{
    unsigned char *buf = run_addr(&p->mem);
    for (size_t k = 0; k < n;) {
        size_t chunk = p->cap - p->head < n - k ? p->cap - p->head : n - k;
        memcpy(dst + k, buf + p->head, chunk);
        p->head = (p->head + chunk) % p->cap;
        p->count -= chunk;
        k += chunk;
    }
}

/* What the kernel would do by waiting: nobody else can change the world
 * during the wait, so it would never end. */
#define SIM_WOULD_WAIT (-ENOSYS)

ssize_t hipc__sim_writev(int fd, const struct iovec *iov, int count)
{
    struct fd *f = fd_of(fd);
    if (f == NULL || f->kind != FD_PIPE_W)
        return -EBADF;
    struct pipe *p = &w.pipes[f->pipe];
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += iov[i].iov_len;
    if (p->readers == 0)
        return -EPIPE;
    if (total == 0)
        return 0;
    size_t room = p->cap - p->count;
    /* Up to PIPE_BUF bytes go in whole or not at all. */
    size_t n = total <= PIPE_BUF && room < total ? 0
               : room < total                    ? room
                                                 : total;
    if (n == 0)
        return f->nonblock ? -EAGAIN : SIM_WOULD_WAIT;
    size_t left = n;
    for (int i = 0; i < count && left > 0; i++) {
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        ring_put(p, iov[i].iov_base, k);
        left -= k;
    }
    return (ssize_t)n;
}

ssize_t hipc__sim_readv(int fd, const struct iovec *iov, int count)
{
    struct fd *f = fd_of(fd);
    if (f == NULL || f->kind == FD_PIPE_W)
        return -EBADF;
    size_t done = 0;
    for (int i = 0; i < count; i++) {
        size_t k;
        if (f->kind == FD_TEXT) {
            k = f->text_len - f->text_off;
            k = iov[i].iov_len < k ? iov[i].iov_len : k;
            memcpy(iov[i].iov_base, f->text + f->text_off, k);
            f->text_off += k;
        } else {
            struct pipe *p = &w.pipes[f->pipe];
            k = iov[i].iov_len < p->count ? iov[i].iov_len : p->count;
            ring_get(p, iov[i].iov_base, k);
        }
        done += k;
    }
    if (done != 0 || f->kind == FD_TEXT)
        return (ssize_t)done;
    const struct pipe *p = &w.pipes[f->pipe];
    size_t want = 0;
    for (int i = 0; i < count; i++)
        want += iov[i].iov_len;
    if (want == 0 || p->writers == 0)
        return 0;
    return f->nonblock ? -EAGAIN : SIM_WOULD_WAIT;
}

ssize_t hipc__sim_read(int fd, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    return hipc__sim_readv(fd, &v, 1);
}

ssize_t hipc__sim_write(int fd, const void *buf, size_t len)
{
    struct iovec v = {(void *)(uintptr_t)buf, len};
    return hipc__sim_writev(fd, &v, 1);
}

static int pipe_resize(struct pipe *p, int arg)
{
    if (arg <= 0)
        return -EINVAL;
    size_t want = pipe_round((size_t)arg);
    if (want > SIM_PIPE_MAX && hipc__sys_geteuid() != 0)
        return -EPERM;
    if (want < p->count)
        return -EBUSY;
    if (want != p->cap) {
        unsigned char tmp[PIPE_BUF];
        struct run old = p->mem, fresh;
        /* The old buffer stays taken while the new one is found. */
        int r = arena_get(want / w.page, 0, &fresh);
        if (r < 0)
            return r;
        unsigned char *dst = run_addr(&fresh);
        size_t moved = 0, n = p->count;
        while (moved < n) {
            size_t k = n - moved < sizeof tmp ? n - moved : sizeof tmp;
            ring_get(p, tmp, k);
            memcpy(dst + moved, tmp, k);
            moved += k;
        }
        arena_put(&old);
        p->mem = fresh;
        p->cap = want;
        p->head = 0;
        p->count = n;
    }
    return (int)p->cap;
}

int hipc__sim_fcntl(int fd, int cmd, int arg)
{
    struct fd *f = fd_of(fd);
    if (f == NULL)
        return -EBADF;
    int acc = f->kind == FD_PIPE_W ? O_WRONLY : O_RDONLY;
    switch (cmd) {
    case F_GETFL:
        return acc | (f->nonblock ? O_NONBLOCK : 0);
    case F_SETFL:
        f->nonblock = (arg & O_NONBLOCK) != 0;
        return 0;
    case F_GETFD:
        return f->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        f->cloexec = (arg & FD_CLOEXEC) != 0;
        return 0;
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
        if (f->kind == FD_TEXT)
            return -EBADF;
        if (cmd == F_GETPIPE_SZ)
            return (int)w.pipes[f->pipe].cap;
        return pipe_resize(&w.pipes[f->pipe], arg);
    default:
        return -EINVAL;
    }
}

int hipc__sim_ioctl_int(int fd, unsigned long req, int *out)
{
    struct fd *f = fd_of(fd);
    if (f == NULL)
        return -EBADF;
    if (req != FIONREAD || f->kind == FD_TEXT)
        return -ENOTTY;
    *out = (int)w.pipes[f->pipe].count;
    return 0;
}

int hipc__sim_fd_kind(int fd)
{
    const struct fd *f = fd_of(fd);
    if (f == NULL)
        return -1;
    if (f->kind == FD_TEXT)
        return 0;
    return f->nonblock ? 2 : 1;
}

int hipc__sim_fstat(int fd, struct stat *st)
{
    struct fd *f = fd_of(fd);
    if (f == NULL)
        return -EBADF;
    memset(st, 0, sizeof *st);
    st->st_dev = 0x51u; /* "sim": no real device has it */
    st->st_ino = (ino_t)(f->kind == FD_TEXT ? fd : f->pipe) + 1u;
    st->st_mode = f->kind == FD_TEXT ? (S_IFREG | 0444) : (S_IFIFO | 0600);
    st->st_nlink = 1;
    st->st_uid = hipc__sys_geteuid();
    st->st_gid = hipc__sys_getegid();
    st->st_blksize = (blksize_t)w.page;
    return 0;
}

static short revents(const struct pollfd *q)
{
    const struct fd *f = fd_of(q->fd);
    if (f == NULL)
        return POLLNVAL;
    short ev = 0;
    if (f->kind == FD_TEXT)
        return (short)(q->events & (POLLIN | POLLOUT));
    const struct pipe *p = &w.pipes[f->pipe];
    if (f->kind == FD_PIPE_R) {
        if (p->count > 0)
            ev |= POLLIN;
        if (p->writers == 0)
            ev |= POLLHUP;
        return (short)(ev & (q->events | POLLHUP));
    }
    if (p->cap - p->count >= PIPE_BUF)
        ev |= POLLOUT;
    if (p->readers == 0)
        ev |= POLLERR;
    return (short)(ev & (q->events | POLLERR));
}

/* Only the simulation's descriptors (negative ones are skipped, as the
 * kernel skips them): one of the kernel's would need the kernel. */
int hipc__sim_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    int ready = 0;
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0 && !hipc__sim_fd(fds[i].fd))
            return -ENOSYS;
    for (nfds_t i = 0; i < n; i++) {
        fds[i].revents = fds[i].fd < 0 ? 0 : revents(&fds[i]);
        ready += fds[i].revents != 0;
    }
    /* Nothing else can make a descriptor ready, so a wait would end only
     * by its timeout: a bounded one ends at once (the caller sees its
     * clock short of the deadline and asks again), an endless one never. */
    if (ready == 0 && timeout_ms < 0)
        return SIM_WOULD_WAIT;
    return ready;
}

#else
/* ISO C forbids an empty translation unit. */
typedef int hipc_sim_unused_;
#endif
