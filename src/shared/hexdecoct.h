/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Value of one hex digit (either case), or -EINVAL. */
int unhexchar(char c);
