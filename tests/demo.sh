#!/bin/bash
# make demo: a real tunnel between two network namespaces, shown working.
#
#      ns demoA-<pid>                        ns demoB-<pid>
#   tun sl0 198.19.10.1/24                   tun sl0 198.19.10.2/24
#   sluice -- veth 198.18.10.1/30 ====== 198.18.10.2/30 veth -- sluice
#
# Both ends run sluice's threaded data plane with one fixed AES-256-GCM test
# key (no TLS yet: the control channel comes with the client issue). Pings
# cross the tunnel, iperf3 measures it for 3 s, and everything is torn down.
source "$(dirname "$0")/netns/lib.sh"
A=demoA-$$ B=demoB-$$
pretty "namespaces $A and $B, veth 198.18.10.1 <-> 198.18.10.2"
netns_add "$A"
netns_add "$B"
veth_pair "$A" va 198.18.10.1/30 "$B" vb 198.18.10.2/30
make_static_key "$WORK/key"
for side in a b; do
	if [ $side = a ]; then l=198.18.10.1 r=198.18.10.2 t=198.19.10.1 d=0; else
		l=198.18.10.2 r=198.18.10.1 t=198.19.10.2 d=1; fi
	cat >"$WORK/$side.conf" <<CONF
dev sl0
dev-type tun
proto udp
local $l
lport 1194
remote $r 1194
topology subnet
ifconfig $t 255.255.255.0
test-data-key $WORK/key $d
test-cipher AES-256-GCM
verb 1
CONF
done
pretty "starting sluice in both namespaces"
spawn "$A" "$SLUICE" --config "$WORK/a.conf"
PA=$LAST_PID
spawn "$B" "$SLUICE" --config "$WORK/b.conf"
PB=$LAST_PID
wait_for 10 ip -n "$A" addr show dev sl0 to 198.19.10.1 || fail "tunnel A did not come up"
wait_for 10 ip -n "$B" addr show dev sl0 to 198.19.10.2 || fail "tunnel B did not come up"
cmd ip -n "$A" addr show dev sl0
cmd ip netns exec "$A" ping -c 4 -i 0.25 198.19.10.2
spawn "$B" iperf3 -s -1 -B 198.19.10.2
IS=$LAST_PID
wait_for 10 ip netns exec "$B" sh -c "ss -ltn | grep -q 198.19.10.2:5201" || fail "iperf3 server"
cmd ip netns exec "$A" iperf3 -c 198.19.10.2 -t 3 -f m | tail -n 4
wait "$IS" || true
pretty "stopping (SIGTERM): counters follow"
stop_pid "$PA" || fail "sluice A exit status"
stop_pid "$PB" || fail "sluice B exit status"
pretty "demo done: tunnel worked, namespaces are removed on exit"
