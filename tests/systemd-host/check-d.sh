#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# d: polkit decides for real non-root users. Without a rule alice may change nothing; the
# shipped example rules, installed as the administrator would, grant the group virtbus-admins
# everything (carol) and alice her own domain only.
. /usr/local/lib/virtbus-test/lib.sh

DOC=/usr/share/doc/virtbus
RULES=/etc/polkit-1/rules.d
GROUP_RULE=$RULES/50-virtbus-group.rules
DOMAIN_RULE=$RULES/51-virtbus-one-domain.rules
RULE_WAIT=15 # s: polkitd re-reads its rules on an inotify event
OWNER=alice VM=alice-vm # the names put into the one-domain example, as its comment says

cleanup() {
        rm -f "$GROUP_RULE" "$DOMAIN_RULE"
        for n in sh-d-alice sh-d-carol; do cleanup_network $n; done
        for d in "$VM" other-vm sh-d-alice; do cleanup_domain $d; done
}
trap cleanup EXIT

as() { local user=$1; shift; runuser -u "$user" -- "$@"; }
# as_call USER METHOD SIG ARGS...: a Connect call as USER; prints busctl's reply or error.
as_call() { local user=$1; shift; as "$user" busctl call "${CONNECT[@]}" "$@" 2>&1; }
# The D-Bus error name of a call as USER (dbus-send prints it, busctl only the message).
error_name_of() { # USER METHOD TYPE:VALUE
        { as "$1" dbus-send --system --print-reply --dest=org.libvirt /org/libvirt/QEMU \
                "org.libvirt.Connect.$2" "$3" 2>&1 || true; } | sed -n 's/^Error \([^:]*\):.*/\1/p'
}
root_state() { connect_call ListNetworks u 0; connect_call ListDomains u 0; }

assert_denied() { # USER METHOD TYPE:VALUE
        local name
        name=$(error_name_of "$@")
        say "$1 $2: ${name:-no error}"
        case $name in
        org.freedesktop.DBus.Error.AccessDenied | org.freedesktop.DBus.Error.InteractiveAuthorizationRequired) ;;
        *) fail "$1 was not denied $2 (error: '${name:-none}')" ;;
        esac
        say "ok: $1 is denied $2"
}

# wait_rule USER METHOD SIG ARGS...: retries the call as USER until polkitd has the new rule.
wait_rule() {
        local out end=$((SECONDS + RULE_WAIT))
        until out=$(as_call "$@"); do
                [ $SECONDS -lt $end ] || { say "$out"; return 1; }
                sleep 0.5
        done
        printf '%s\n' "$out"
}

say "--- no rule: alice"
before=$(root_state)
assert_denied alice NetworkDefineXML "string:$(network_xml sh-d-alice vbtestd1)"
assert_denied alice DomainDefineXML "string:$(plain_domain_xml sh-d-alice)"
ok "root's ListNetworks and ListDomains are unchanged" [ "$(root_state)" = "$before" ]

say "--- $DOC/50-virtbus-group.rules.example installed: carol (in virtbus-admins)"
ok "carol is in virtbus-admins" bash -c "id -nG carol | grep -qw virtbus-admins"
install -m 0644 "$DOC/50-virtbus-group.rules.example" "$GROUP_RULE"
out=$(wait_rule carol NetworkDefineXML s "$(network_xml sh-d-carol vbtestd2)") ||
        fail "carol may not define a network with the group rule installed"
say "carol NetworkDefineXML: $out"
net=$(reply_value <<<"$out")
ok "carol may undefine her network" as carol busctl call org.libvirt "$net" org.libvirt.Network Undefine
assert_denied alice NetworkDefineXML "string:$(network_xml sh-d-alice vbtestd1)"
rm -f "$GROUP_RULE"

say "--- $DOC/51-virtbus-one-domain.rules.example for $OWNER/$VM"
sed -e "s/\"alice\"/\"$OWNER\"/" -e "s/\"alice-vm\"/\"$VM\"/" "$DOC/51-virtbus-one-domain.rules.example" >"$DOMAIN_RULE"
chmod 0644 "$DOMAIN_RULE"
mine=$(obj_path DomainDefineXML s "$(plain_domain_xml "$VM")")
other=$(obj_path DomainDefineXML s "$(plain_domain_xml other-vm)")
out=$(wait_rule "$OWNER" DomainLookupByName s "$VM") || fail "$OWNER may not look up $VM"
say "$OWNER DomainLookupByName $VM: $out"
ok "$OWNER gets the path of $VM" [ "$(reply_value <<<"$out")" = "$mine" ]
out=$(as "$OWNER" busctl call org.libvirt "$mine" org.libvirt.Domain GetState u 0 2>&1) ||
        fail "$OWNER may not read the state of $VM: $out"
say "$OWNER GetState $VM: $out"
ok "$OWNER may set Autostart of $VM (manage)" \
        as "$OWNER" busctl set-property org.libvirt "$mine" org.libvirt.Domain Autostart b true
ok "$OWNER reads Autostart=true" [ "$(as "$OWNER" busctl get-property org.libvirt "$mine" org.libvirt.Domain Autostart)" = "b true" ]
if out=$(as_call "$OWNER" DomainLookupByName s other-vm); then
        fail "$OWNER may look up other-vm: $out"
fi
say "$OWNER DomainLookupByName other-vm: $out"
say "ok: $OWNER cannot look up other-vm"
out=$(as_call "$OWNER" ListDomains u 0) || fail "$OWNER may not list domains: $out"
say "$OWNER ListDomains: $out"
ok "$OWNER's list is $VM alone" [ "$out" = "ao 1 \"$mine\"" ]
ok "root still sees both domains" bash -c "busctl call ${CONNECT[*]} ListDomains u 0 | grep -q '$other'"
assert_denied "$OWNER" DomainDefineXML "string:$(plain_domain_xml sh-d-alice)"
