/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The allocator of HTB class ids on one bridge: a bitmap over the u16 ids. 0, 1 and 2 are always
 * in use (0 is no class, 1:1 and 1:2 are the network's root and default classes) and 0xffff is
 * never handed out (see QOS_CLASS_ID_MAX), so ids come from 3..0xfffe, lowest free first.
 *
 * The text form is the one libvirt keeps in its network status file
 * (<class_id bitmap='0-4,7'/>): ascending decimal ids and ranges, reserved ids included. */

#include <stdbool.h>
#include <stdint.h>

#define CLASS_ID_BITS 65536u

typedef struct ClassIdBitmap {
        uint64_t words[CLASS_ID_BITS / 64];
} ClassIdBitmap;

/* Only the reserved ids in use. */
void class_id_bitmap_init(ClassIdBitmap *b);
/* The lowest free id; -ENOSPC when every one is taken. */
int class_id_bitmap_allocate(ClassIdBitmap *b, uint16_t *ret);
/* Mark id used / free. -ERANGE for the reserved ids and anything above QOS_CLASS_ID_MAX; -EEXIST
 * when already used, -ENOENT when already free. */
int class_id_bitmap_set(ClassIdBitmap *b, uint32_t id);
int class_id_bitmap_clear(ClassIdBitmap *b, uint32_t id);
/* True for used and reserved ids (false beyond 0xffff). */
bool class_id_bitmap_test(const ClassIdBitmap *b, uint32_t id);
/* Ids handed out (the reserved ones not counted). */
unsigned class_id_bitmap_count(const ClassIdBitmap *b);
bool class_id_bitmap_equal(const ClassIdBitmap *a, const ClassIdBitmap *b);

/* "0-2,5,7-9"; NULL on OOM. */
char *class_id_bitmap_format(const ClassIdBitmap *b);
/* Strict: decimal ids and "A-B" ranges (A <= B), comma separated, strictly ascending and
 * non-overlapping, no spaces, signs or leading zeros, every id <= QOS_CLASS_ID_MAX; the reserved
 * ids must be listed (the file says what was in use, and they always are). -EINVAL with a reason
 * in *ret_error (malloc'ed) otherwise. */
int class_id_bitmap_parse(const char *s, ClassIdBitmap *ret, char **ret_error);
