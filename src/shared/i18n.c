/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <locale.h>

#include "i18n.h"

void i18n_init(void) {
        setlocale(LC_ALL, "");
        bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
        bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
}
