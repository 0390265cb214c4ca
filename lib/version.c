/* SPDX-License-Identifier: MIT */
/* hipc — runtime version query. */
#include "hipc/hipc.h"

unsigned hipc_version(void)
{
    return HIPC_VERSION;
}

const char *hipc_version_string(void)
{
    return HIPC_VERSION_STRING;
}
