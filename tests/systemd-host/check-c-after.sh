#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# c, second part (after the container rebooted): the guest left running got its power button
# while the host shut down (virtbusd waits for it before systemd stops the guest's scope); the
# first call activates virtbusd, which starts the autostart network again: its bridge exists and
# the network is active.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-c BRIDGE=vbtest0 DOM=vm-c
SERIAL=/var/lib/virtbus/vbtest-$DOM.serial
trap 'cleanup_network $NET; rm -f "$SERIAL"' EXIT

say "the previous boot's shutdown, for virtbusd and the guest's scope:"
journalctl -b -1 --no-pager -o short-monotonic -u virtbusd.service -u "virtbus-qemu-*" | tail -n 25 | sed 's/^/  /' || true
say "the guest's console before the reboot:"
sed 's/^/  /' "$SERIAL" || true
ok "the guest saw its power button during the host's shutdown" grep -q '^VB-RESULT power-button' "$SERIAL"
ok "no QEMU runs after the reboot" bash -c "! pgrep -u virtbus qemu-system >/dev/null"

ok "virtbusd.service is inactive after the reboot" unit_inactive virtbusd.service
net=$(obj_path NetworkLookupByName s $NET)
ok "virtbusd.service was activated by the call" unit_is virtbusd.service active
ok "network $NET is active" [ "$(get_prop "$net" org.libvirt.Network Active)" = true ]
ok "network $NET is autostart" [ "$(get_prop "$net" org.libvirt.Network Autostart)" = true ]
ip -br addr show dev $BRIDGE
ok "the bridge $BRIDGE exists again" is_bridge $BRIDGE
ok "the transient domain $DOM is gone" bash -c "! busctl call ${CONNECT[*]} DomainLookupByName s $DOM >/dev/null 2>&1"
ok "$BRIDGE has 10.99.0.1/24" bash -c "ip -4 addr show dev $BRIDGE | grep -q 'inet 10.99.0.1/24'"

net_call "$net" Destroy
net_call "$net" Undefine
ok "the bridge $BRIDGE is gone after Destroy" link_gone $BRIDGE
