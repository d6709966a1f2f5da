/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct EtherAddr {
        uint8_t bytes[6];
} EtherAddr;

#define ETHER_ADDR_STR_MAX 18

/* "52:54:00:aa:bb:cc" (case-insensitive, exactly six two-digit groups). */
int ether_addr_parse(const char *s, EtherAddr *ret);
/* Lower-case colon form into buf[ETHER_ADDR_STR_MAX]. */
char *ether_addr_format(const EtherAddr *a, char *buf);
bool ether_addr_is_multicast(const EtherAddr *a);
bool ether_addr_is_null(const EtherAddr *a);
/* Random address with QEMU's OUI 52:54:00, as libvirt generates them. */
int ether_addr_generate_qemu(EtherAddr *ret);
