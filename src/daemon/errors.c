/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "errors.h"
#include "i18n.h"

int libvirt_error_setf(sd_bus_error *error, int errnum, const char *format, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int r;

        if (errnum < 0)
                errnum = -errnum;
        if (errnum == 0)
                errnum = EIO;

        va_start(ap, format);
        r = vasprintf(&m, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (error) {
                r = sd_bus_error_set(error, LIBVIRT_ERROR, m);
                if (r == -ENOMEM)
                        return r;
        }
        return -errnum;
}

int check_flags(uint32_t flags, uint32_t supported, const char *function, sd_bus_error *error) {
        if (flags & ~supported)
                return libvirt_error_setf(error, EINVAL, _("unsupported flags (0x%x) in function %s"),
                                          flags & ~supported, function);
        return 0;
}
