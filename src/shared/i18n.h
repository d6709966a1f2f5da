/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* User-facing messages (D-Bus error texts, command-line output) are marked with _() so
 * they can be translated; log messages for administrators are not. */
#include <libintl.h>

#define _(s) dgettext(GETTEXT_PACKAGE, s)
#define N_(s) s

void i18n_init(void);
