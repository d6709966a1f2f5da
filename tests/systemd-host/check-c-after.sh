#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# c, second part (after the container rebooted): the first call activates virtbusd, which
# starts the autostart network again: its bridge exists and the network is active.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-c BRIDGE=vbtest0
trap 'cleanup_network $NET' EXIT

ok "virtbusd.service is inactive after the reboot" unit_inactive virtbusd.service
net=$(obj_path NetworkLookupByName s $NET)
ok "virtbusd.service was activated by the call" unit_is virtbusd.service active
ok "network $NET is active" [ "$(get_prop "$net" org.libvirt.Network Active)" = true ]
ok "network $NET is autostart" [ "$(get_prop "$net" org.libvirt.Network Autostart)" = true ]
ip -br addr show dev $BRIDGE
ok "the bridge $BRIDGE exists again" is_bridge $BRIDGE
ok "$BRIDGE has 10.99.0.1/24" bash -c "ip -4 addr show dev $BRIDGE | grep -q 'inet 10.99.0.1/24'"

net_call "$net" Destroy
net_call "$net" Undefine
ok "the bridge $BRIDGE is gone after Destroy" link_gone $BRIDGE
