/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
 * A crash leaves either the old or the new content, never a torn file. */
int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode);

/* Read a whole regular file (at most max_size bytes, else -EFBIG); NUL-terminated. */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);

/* Remove a file and fsync its directory; a missing file is not an error. */
int unlink_durable(const char *path);

/* mkdir -p with mode for each created component. */
int mkdir_p(const char *path, mode_t mode);

/* "dir/name.suffix", allocated. */
char *path_join3(const char *dir, const char *name, const char *suffix);

/* libvirt's autostart marker: DIR/NAME.xml → ../NAME.xml (created or removed). */
int autostart_link_set(const char *autostart_dir, const char *name, bool enable);
