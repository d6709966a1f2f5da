#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# c, first part: a network started over the bus has its bridge in the host's network namespace;
# an autostart network survives a restart of virtbusd. A guest is left running: the reboot must
# give it its power button before systemd stops its scope. The harness then reboots the
# container and runs check-c-after.sh.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-c BRIDGE=vbtest0 DOM=vm-c
# Kept across the reboot (the state directory); check-c-after.sh reads and removes it.
SERIAL=/var/lib/virtbus/vbtest-$DOM.serial
BOOT_WAIT=90 # s
console_has() { grep -q "$1" "$SERIAL" 2>/dev/null; }

net=$(obj_path NetworkDefineXML s "$(network_xml $NET $BRIDGE '' 10.99.0.1)")
net_call "$net" Create
set_prop "$net" org.libvirt.Network Autostart b true
say "network $NET: $net, active and autostart"
ip -br addr show dev $BRIDGE
ok "the bridge $BRIDGE exists in the container's network namespace" is_bridge $BRIDGE
ok "$BRIDGE has 10.99.0.1/24" bash -c "ip -4 addr show dev $BRIDGE | grep -q 'inet 10.99.0.1/24'"
ok "Autostart is true" [ "$(get_prop "$net" org.libvirt.Network Autostart)" = true ]
ifindex=$(ifindex_of $BRIDGE)

say "restarting virtbusd"
systemctl restart virtbusd.service
net=$(obj_path NetworkLookupByName s $NET)
ok "network $NET is active after the restart" [ "$(get_prop "$net" org.libvirt.Network Active)" = true ]
ok "network $NET is still autostart" [ "$(get_prop "$net" org.libvirt.Network Autostart)" = true ]
ok "the bridge $BRIDGE is still there" is_bridge $BRIDGE
ok "the bridge was adopted, not re-created (ifindex $ifindex)" [ "$(ifindex_of $BRIDGE)" = "$ifindex" ]

rm -f "$SERIAL"
dom=$(obj_path DomainCreateXML su "$(guest_xml $DOM $NET 'vb.ip=10.99.0.2/24 vb.action=wait-poweroff' "$SERIAL")" 0)
say "domain $DOM: $dom, left running for the reboot"
ok "the guest is ready for its power button" wait_until $BOOT_WAIT console_has '^VB-RESULT wait-poweroff waiting'
