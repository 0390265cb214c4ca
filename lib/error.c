/* SPDX-License-Identifier: MIT */
/* hipc — error table expansion and errno mapping. */
#include "hipc/error.h"
#include "internal.h"

#include <errno.h>

const char *hipc_strerror(int code)
{
    switch (code) {
#define HIPC_ERROR_MSG_(name, value, msg)                                      \
    case (value):                                                              \
        return (msg);
        HIPC_ERROR_MAP(HIPC_ERROR_MSG_)
#undef HIPC_ERROR_MSG_
    default:
        return "unknown hipc error";
    }
}

const char *hipc_err_name(int code)
{
    switch (code) {
#define HIPC_ERROR_NAME_(name, value, msg)                                     \
    case (value):                                                              \
        return "HIPC_" #name;
        HIPC_ERROR_MAP(HIPC_ERROR_NAME_)
#undef HIPC_ERROR_NAME_
    default:
        return "HIPC_E_UNKNOWN";
    }
}

int hipc_err_is_known(int code)
{
    return code <= 0 && code >= HIPC_ERROR_LAST_;
}

/* The one place where a kernel errno becomes a hipc code. Callers with a
 * more specific meaning (EINVAL from shmget means a size problem, from
 * shmat an address problem) map those cases themselves first. */
int hipc__from_errno(int err)
{
    switch (err) {
    case 0:
        return HIPC_OK;
    case EEXIST:
        return HIPC_E_EXISTS;
    case ENOENT:
    case ESRCH:
        return HIPC_E_NOT_FOUND;
    case EACCES:
    case EPERM:
        return HIPC_E_PERM;
    case ENOSPC:
    case EMFILE:
    case ENFILE:
        return HIPC_E_LIMIT;
    case ENOMEM:
        return HIPC_E_NOMEM;
    case EIDRM:
        return HIPC_E_REMOVED;
    case EINTR:
        return HIPC_E_INTR;
    case ETIMEDOUT:
        return HIPC_E_TIMEDOUT;
    case EPIPE:
        return HIPC_E_PEER_GONE;
    case EAGAIN:
        return HIPC_E_AGAIN;
    case EBADF:
        return HIPC_E_BAD_FD;
    case EFAULT:
        return HIPC_E_BAD_ADDR;
    case ENOSYS:
    case EOPNOTSUPP:
        return HIPC_E_UNSUPPORTED;
    default:
        return HIPC_E_SYS;
    }
}
