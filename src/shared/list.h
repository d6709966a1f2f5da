/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Singly linked lists threaded through a `next` member (the manager's domains, networks). */

#define LIST_PREPEND(head, item)            \
        do {                                \
                (item)->next = (head);      \
                (head) = (item);            \
        } while (0)

#define LIST_REMOVE(head, item)                                               \
        do {                                                                  \
                for (typeof(head) *_p_ = &(head); *_p_; _p_ = &(*_p_)->next)  \
                        if (*_p_ == (item)) {                                 \
                                *_p_ = (item)->next;                          \
                                break;                                        \
                        }                                                     \
        } while (0)
