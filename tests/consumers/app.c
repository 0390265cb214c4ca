/* SPDX-License-Identifier: MIT */
/* A minimal consumer of an installed or embedded hipc: it needs the public
 * headers and the static library, nothing else. It fails (exit 1) when the
 * header and the library disagree on the version or the error table. */
#include <hipc/hipc.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (hipc_version() != HIPC_VERSION ||
        strcmp(hipc_version_string(), HIPC_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n",
                HIPC_VERSION_STRING, hipc_version_string());
        return 1;
    }
    if (strcmp(hipc_err_name(HIPC_E_LAYOUT), "HIPC_E_LAYOUT") != 0 ||
        !hipc_err_is_known(HIPC_ERROR_LAST_))
        return 1;
    printf("consumer: hipc %s linked; %s: %s\n", hipc_version_string(),
           hipc_err_name(HIPC_E_LAYOUT), hipc_strerror(HIPC_E_LAYOUT));
    return 0;
}
