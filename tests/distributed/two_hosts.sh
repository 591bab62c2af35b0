#!/usr/bin/env bash
# two_hosts.sh <program> [args...]
#
# Runs `mpirun -np 2 <program> [args...]` (Open MPI 4.1) with one rank in each of two network namespaces
# ("hosts" h1 = 10.77.0.2, h2 = 10.77.0.3), launched through mpirun's rsh/ssh launcher path like two real hosts,
# talking over TCP only (btl tcp,self; no shared memory transport). mpirun itself runs in a third namespace
# (the "switch", 10.77.0.1 on a bridge), so nothing is added to the root namespace and the host firewall does
# not see the traffic. Each host namespace also gets its own hostname (h1/h2) and its own TMPDIR.
#
# Everything (namespaces, veths, bridge, processes, session dirs) is removed on exit, whatever happens.
# Exit status: mpirun's; 124 if the job exceeds $TWO_HOSTS_TIMEOUT seconds (default 60);
# 77 if the namespaces cannot be created (not root / no CAP_NET_ADMIN+CAP_SYS_ADMIN, e.g. in a sandbox).
# Extra mpirun options (e.g. "-x VAR") can be passed in $TWO_HOSTS_MPIRUN_ARGS.
set -u
[ $# -ge 1 ] || { echo "usage: $0 <program> [args...]" >&2; exit 2; }

id=hpml-2h-$$                     # unique per run: parallel runs do not collide (all IPs live inside namespaces)
sw=$id-sw h1=$id-h1 h2=$id-h2
tmp=/tmp/$id                      # scratch: agent, hostfile, TMPDIR of both hosts
rm -rf "$tmp"; mkdir -m 700 "$tmp" || exit 1
job=

kill_ns() {  # kill every process that lives in namespace $1
  local p; p=$(ip netns pids "$1" 2>/dev/null) && [ -n "$p" ] && kill -9 $p 2>/dev/null
  return 0
}
cleanup() {
  [ -n "$job" ] && kill -9 "$job" 2>/dev/null
  for ns in $sw $h1 $h2; do kill_ns "$ns"; done
  for ns in $sw $h1 $h2; do ip netns del "$ns" 2>/dev/null; done   # also destroys the veths and the bridge
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# Remove leftovers of earlier runs that were SIGKILLed (their owner pid is gone).
for f in /run/netns/hpml-2h-*-sw; do
  [ -e "$f" ] || continue
  old=${f#/run/netns/hpml-2h-}; old=${old%-sw}
  kill -0 "$old" 2>/dev/null && continue
  for ns in hpml-2h-$old-sw hpml-2h-$old-h1 hpml-2h-$old-h2; do kill_ns "$ns"; ip netns del "$ns" 2>/dev/null; done
  rm -rf "/tmp/hpml-2h-$old"
done

setup() {
  ip netns add $sw && ip netns add $h1 && ip netns add $h2 &&
  ip -n $sw link add br0 type bridge && ip -n $sw addr add 10.77.0.1/24 dev br0 &&
  ip -n $sw link set br0 up && ip -n $sw link set lo up || return 1
  local i ns
  for i in 1 2; do
    ns=$id-h$i
    ip -n $sw link add p$i type veth peer name eth0 netns $ns &&
    ip -n $sw link set p$i master br0 up &&
    ip -n $ns addr add 10.77.0.$((i + 1))/24 dev eth0 &&
    ip -n $ns link set eth0 up && ip -n $ns link set lo up || return 1
  done
  ip netns exec $h1 unshare --uts true   # probe: can we enter namespaces and create UTS namespaces?
}
if ! setup 2>"$tmp/setup.err"; then
  { echo "############################################################"
    echo "# $0: SKIPPED: cannot create network namespaces"
    echo "# (needs root with CAP_NET_ADMIN and CAP_SYS_ADMIN):"
    sed 's/^/#   /' "$tmp/setup.err"
    echo "############################################################"; } >&2
  exit 77
fi

# The "remote shell": called by mpirun as `agent <host> <orted command words...>` (words carry shell quoting,
# exactly as for ssh, so they must go through `sh -c`), runs the command inside the namespace of that host with
# its own hostname and TMPDIR. Both matter: with one shared session dir (/tmp/ompi.<hostname>.<uid>) the two
# orteds race on it and one of them sometimes crashes at startup.
cat >"$tmp/agent" <<EOF
#!/bin/sh
case "\$1" in
  10.77.0.2) n=h1 ns=$h1 ;;
  10.77.0.3) n=h2 ns=$h2 ;;
  *) echo "agent: unknown host \$1" >&2; exit 255 ;;
esac
shift
mkdir -p "$tmp/\$n" && export TMPDIR="$tmp/\$n" &&
exec ip netns exec "\$ns" unshare --uts sh -c "hostname \$n && \$*"
EOF
chmod +x "$tmp/agent"
printf '10.77.0.2 slots=1\n10.77.0.3 slots=1\n' >"$tmp/hosts"

# The hostfile does not list mpirun's own node, so no rank is placed there. --leave-session-attached keeps each
# orted attached to its agent (no --daemonize): a daemon that dies at startup then fails the job at once
# instead of leaving mpirun waiting forever.
TMPDIR=$tmp timeout -k 5 "${TWO_HOSTS_TIMEOUT:-60}" ip netns exec $sw \
  mpirun --allow-run-as-root -np 2 --hostfile "$tmp/hosts" \
    --mca plm rsh --mca plm_rsh_agent "$tmp/agent" --mca plm_rsh_no_tree_spawn 1 --leave-session-attached \
    --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    ${TWO_HOSTS_MPIRUN_ARGS:-} "$@" </dev/null &
job=$!
wait $job
rc=$?
job=
exit $rc
